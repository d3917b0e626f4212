"""SEARCH (RFC 9051 §6.4.4; RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5267 contexts,
RFC 7162 MODSEQ), and the evaluation of search keys SORT and THREAD share
(sort_commands.py).

Keys are evaluated as sets of UIDs: what the shared mailbox state answers (flags,
sizes, dates, UIDs, mod-sequences) first and for free; what needs the message
(BODY, TEXT, header keys) only for the messages still in question: BODY and TEXT
from the header and body texts the mailbox's index keeps (RFC 9051 §6.4.4:
substring, case-insensitive). The header values SORT, THREAD and SENT* keys need
are computed once per message and kept in the index.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from mailroom.imap import responses, search_contexts
from mailroom.imap import search_keys as keys
from mailroom.imap.commands import Command, Search
from mailroom.imap.context import SessionContext
from mailroom.imap.esearch import esearch, shown_options
from mailroom.imap.ordering import SortHeaders
from mailroom.imap.search_keys import SearchKey
from mailroom.imap.selected import SelectedView, numbered, selected_view
from mailroom.imap.thread_algorithms import ThreadInput
from mailroom.message import addr_specs_written_apart, decode_header, parse_message
from mailroom.store import Mailbox, MessageGone, MessageInfo

CHARSETS = frozenset({"US-ASCII", "UTF-8"})
CONTENT_KEYS = (keys.Header, keys.Body, keys.Text)


@dataclass
class Evaluation:
    """What one evaluation of search keys knows and has fetched (SORT and THREAD reuse
    its header summaries; a search context makes one per update)."""

    session: SessionContext
    view: SelectedView
    numbers: dict[int, int]
    """uid → sequence number of the messages in question."""
    messages: dict[int, MessageInfo]
    largest_uid: int
    used_modseq: bool = False
    _saved: frozenset[int] | None = None
    summaries: dict[int, bytes] = field(default_factory=dict)
    """Header summaries fetched ahead, a batch at a time (see `_prefetch_summaries`)."""

    @property
    def saved(self) -> frozenset[int]:
        """The UIDs `$` names (RFC 5182), made a set once per command."""
        if self._saved is None:
            self._saved = frozenset(self.view.saved or ())
        return self._saved


async def _match(context: Evaluation, key: SearchKey, among: set[int]) -> set[int]:
    if not among:
        return set()
    if isinstance(key, keys.And):
        ordered = sorted(key.keys, key=_cost)
        for part in ordered:
            among = await _match(context, part, among)
            if not among:
                break
        return among
    if isinstance(key, keys.Or):
        left = await _match(context, key.left, among)
        return left | await _match(context, key.right, among - left)
    if isinstance(key, keys.Not):
        return among - await _match(context, key.key, among)
    if isinstance(key, CONTENT_KEYS):
        return await _match_content(context, key, among)
    if isinstance(key, keys.Date) and key.field is keys.DateField.SENT:
        result = set()
        await prefetch_summaries(context, among)
        for uid in among:
            summary = await summary_of(context, uid)
            if summary is None:
                continue
            sent = summary.date or context.messages[uid].internaldate
            if _date_matches(sent.date(), key):
                result.add(uid)
        return result
    return {uid for uid in among if _simple(context, key, uid)}


def _cost(key: SearchKey) -> int:
    if isinstance(key, CONTENT_KEYS):
        return 2
    if isinstance(key, keys.Date) and key.field is keys.DateField.SENT:
        return 1
    if isinstance(key, keys.And | keys.Or | keys.Not):
        return 1
    return 0


def _date_matches(day: datetime.date, key: keys.Date) -> bool:
    if key.comparison is keys.DateComparison.BEFORE:
        return day < key.date
    if key.comparison is keys.DateComparison.ON:
        return day == key.date
    return day >= key.date


def _simple(context: Evaluation, key: SearchKey, uid: int) -> bool:
    message = context.messages[uid]
    if isinstance(key, keys.All):
        return True
    if isinstance(key, keys.Flag):
        if key.flag == "\\Recent":
            present = uid in context.view.recent
        elif key.flag.startswith("\\"):
            present = key.flag in message.flags
        else:
            wanted = key.flag.lower()
            present = any(flag.lower() == wanted for flag in message.flags)
        return present == key.present
    if isinstance(key, keys.Size):
        return message.size > key.size if key.larger else message.size < key.size
    if isinstance(key, keys.Date):
        return _date_matches(message.internaldate.date(), key)
    if isinstance(key, keys.Within):
        age = datetime.datetime.now(datetime.UTC) - message.internaldate
        return (
            age.total_seconds() > key.seconds if key.older else (age.total_seconds() <= key.seconds)
        )
    if isinstance(key, keys.Uid):
        if key.uids.saved:
            return uid in context.saved
        return key.uids.contains(uid, context.largest_uid)
    if isinstance(key, keys.Sequence):
        if key.numbers.saved:
            return uid in context.saved
        return key.numbers.contains(context.numbers[uid], len(context.view.uids))
    if isinstance(key, keys.ModSeq):
        context.used_modseq = True
        return message.modseq >= key.modseq
    raise TypeError(f"not a search key: {key!r}")  # pragma: no cover


# -- keys that need the message ---------------------------------------------------------------


async def _match_content(
    context: Evaluation, key: keys.Header | keys.Body | keys.Text, among: set[int]
) -> set[int]:
    mailbox = context.view.mailbox
    needle = key.value
    if isinstance(key, keys.Header):
        return await _match_header(context, key, among)
    if not needle:
        return set(among)
    # The index keeps the header and the body apart: BODY and TEXT are exact from it.
    return await mailbox.search_text(needle, sorted(among), body_only=isinstance(key, keys.Body))


HEADER_BATCH = 1000


ADDRESS_FIELDS = ("from", "to", "cc", "bcc", "subject")
"""The header keys of SEARCH proper (RFC 9051 §6.4.4): kept decoded in memory while the
mailbox is open, so a client's quick-filter search reads neither files nor the index."""
_fields_memo: WeakKeyDictionary[Mailbox, dict[int, tuple[str, ...]]] = WeakKeyDictionary()


async def _match_header(context: Evaluation, key: keys.Header, among: set[int]) -> set[int]:
    """Header keys, from the decoded header fields kept in the index: the first search
    reads each message once, later ones no file at all."""
    wanted = key.field.lower()
    needle = key.value.casefold()
    mailbox = context.view.mailbox
    if wanted in ADDRESS_FIELDS:
        return await _match_address_field(mailbox, ADDRESS_FIELDS.index(wanted), needle, among)
    ordered = sorted(among)
    result = set()
    for start in range(0, len(ordered), HEADER_BATCH):
        chunk = ordered[start : start + HEADER_BATCH]
        fields = await mailbox.cached_many(chunk, "headers.v1", _decoded_headers)
        for uid, raw in fields.items():
            for name, value in json.loads(raw):
                if name == wanted and (not needle or needle in value):
                    result.add(uid)
                    break
    return result


async def _match_address_field(
    mailbox: Mailbox, index: int, needle: str, among: set[int]
) -> set[int]:
    memo = _fields_memo.setdefault(mailbox, {})
    missing = sorted(uid for uid in among if uid not in memo)
    for start in range(0, len(missing), HEADER_BATCH):
        chunk = missing[start : start + HEADER_BATCH]
        found = await mailbox.cached_many(chunk, "search-fields.v2", _search_fields)
        for uid, raw in found.items():
            memo[uid] = tuple(json.loads(raw))
    result = set()
    for uid in among:
        values = memo.get(uid)
        if values is None:
            continue
        value = values[index]
        # "" matches a message that has the field at all (None: it has none).
        if value is not None and needle in value:
            result.add(uid)
    return result


def _search_fields(data: bytes) -> bytes:
    """From, To, Cc, Bcc, Subject decoded and case-folded (all occurrences of each
    joined), None for a field the message lacks. An address field also has each
    address as parsed that its text lacks (`a (c) @ b` as `a@b`): Dovecot matches
    the parsed address, comments and folding gone (RFC 5322 §3.2.2)."""
    part = parse_message(data)
    values: list[str | None] = [None] * len(ADDRESS_FIELDS)
    for header in part.fields:
        name = header.name.lower()
        if name in ADDRESS_FIELDS:
            slot = ADDRESS_FIELDS.index(name)
            text = decode_header(header.value).casefold()
            if name != "subject":
                for spec in addr_specs_written_apart(header.value):
                    if spec.casefold() not in text:
                        text = f"{text}\n{spec.casefold()}"
            values[slot] = text if values[slot] is None else f"{values[slot]}\n{text}"
    return json.dumps(values, ensure_ascii=False).encode()


def _decoded_headers(data: bytes) -> bytes:
    """[name lower-cased, decoded value case-folded] of the message's header fields."""
    part = parse_message(data)
    return json.dumps(
        [[f.name.lower(), decode_header(f.value).casefold()] for f in part.fields],
        ensure_ascii=False,
    ).encode()


# -- cached header summary (SORT, THREAD, SENT*) ---------------------------------------------


@dataclass(frozen=True)
class Summary:
    headers: SortHeaders
    date: datetime.datetime | None
    message_id: str | None
    references: tuple[str, ...]
    subject: str
    is_reply: bool


def _summarize(data: bytes) -> bytes:
    part = parse_message(data)
    headers = SortHeaders.from_part(part)
    stamp = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    thread = ThreadInput.from_part(0, 0, part, stamp)
    return json.dumps(
        {
            "date": headers.date.isoformat() if headers.date else None,
            "subject": headers.subject,
            "from": headers.from_mailbox,
            "to": headers.to_mailbox,
            "cc": headers.cc_mailbox,
            "dfrom": headers.display_from,
            "dto": headers.display_to,
            "id": thread.message_id,
            "refs": list(thread.references),
            "tsubject": thread.subject,
            "reply": thread.is_reply_or_forward,
        }
    ).encode()


async def prefetch_summaries(context: Evaluation, uids: Iterable[int]) -> None:
    """The summaries of `uids`, fetched in batches (one trip to the store for many)."""
    missing = sorted(uid for uid in uids if uid not in context.summaries)
    for start in range(0, len(missing), SUMMARY_BATCH):
        chunk = missing[start : start + SUMMARY_BATCH]
        context.summaries.update(
            await context.view.mailbox.cached_many(chunk, "summary.v2", _summarize)
        )


SUMMARY_BATCH = 1000


async def summary_of(context: Evaluation, uid: int) -> Summary | None:
    raw = context.summaries.get(uid)
    if raw is None:
        try:
            raw = await context.view.mailbox.cached(uid, "summary.v2", _summarize)
        except MessageGone:
            return None
    value = json.loads(raw)
    date = datetime.datetime.fromisoformat(value["date"]) if value["date"] else None
    return Summary(
        SortHeaders(
            date=date,
            subject=value["subject"],
            from_mailbox=value["from"],
            to_mailbox=value["to"],
            cc_mailbox=value["cc"],
            display_from=value["dfrom"],
            display_to=value["dto"],
        ),
        date,
        value["id"],
        tuple(value["refs"]),
        value["tsubject"],
        value["reply"],
    )


# -- the commands ---------------------------------------------------------------------------


def check_charset(charset: str | None) -> None:
    if charset is not None and charset.upper() not in CHARSETS:
        raise responses.no(f"Unsupported charset {charset[:40]}", "BADCHARSET (US-ASCII UTF-8)")


async def search(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Search)
    args = command.args
    view = selected_view(session.selected)
    options = args.return_options
    if options is None and "IMAP4REV2" in session.enabled:
        options = frozenset()  # RFC 9051 §7.3.4: IMAP4rev2 answers SEARCH with ESEARCH (ALL)
    saving = options is not None and "SAVE" in options
    updating = options is not None and "UPDATE" in options
    if updating:
        search_contexts.check_tag(view, command.tag)
    mark = (view.mailbox.snapshot.highestmodseq, view.uids[-1] if view.uids else 0)
    try:
        check_charset(args.charset)
        uids, evaluated = await evaluate(session, view, args.key)
    except Exception:
        if saving:  # RFC 5182 §2.1: a failed SEARCH (SAVE) leaves `$` empty (as Dovecot)
            view.saved = []
        raise
    used_modseq = evaluated.used_modseq
    if used_modseq:  # RFC 7162 §3.1: SEARCH MODSEQ enables CONDSTORE
        session.enable_condstore()
    if (
        uids
        and options is not None
        and options & {"MIN", "MAX"}
        and not options & {"ALL", "COUNT", "PARTIAL", "UPDATE"}
    ):
        # RFC 4731 §3.2, RFC 5182 §2.1: with only MIN and/or MAX asked for, those
        # messages are the result that is saved and whose MODSEQ is reported.
        ends = [uids[0]] if "MIN" in options else []
        ends += [uids[-1]] if "MAX" in options else []
        reported = sorted(set(ends))
    else:
        reported = uids
    ids = uids if command.uid else [view.sequence_of(uid) or 0 for uid in uids]
    found_messages = (view.mailbox.find(uid) for uid in reported)
    highest = max((m.modseq for m in found_messages if m is not None), default=0)
    if options is None:
        line = b"* SEARCH" + b"".join(b" %d" % n for n in ids)
        if used_modseq and ids:
            line += b" (MODSEQ %d)" % highest
        session.write(line + b"\r\n")
    else:
        if saving:
            view.saved = list(reported)
        shown = shown_options(options)
        if shown or updating:
            modseq = highest if used_modseq else None
            session.write(
                esearch(command.tag, command.uid, ids, shown, modseq, partial=args.partial)
            )
    if updating:
        match = matcher(session, view)
        search_contexts.start(session, view, command, args.key, uids, match, mark)
    await session.tagged_ok(command, "Search completed.")


def matcher(session: SessionContext, view: SelectedView) -> search_contexts.Matcher:
    """How an updating context tests changed messages again: the search proper."""

    async def match(key: SearchKey, among: set[int]) -> set[int]:
        context = new_evaluation(session, view, sorted(among))
        return await _match(context, key, set(context.messages))

    return match


def new_evaluation(session: SessionContext, view: SelectedView, uids: list[int]) -> Evaluation:
    numbers, messages = numbered(view, uids)
    return Evaluation(
        session,
        view,
        {m.uid: n for n, m in zip(numbers, messages, strict=True)},
        {m.uid: m for m in messages},
        view.uids[-1] if view.uids else 0,
    )


async def evaluate(
    session: SessionContext, view: SelectedView, key: SearchKey
) -> tuple[list[int], Evaluation]:
    """The UIDs (ascending) that match `key`, and the context the search built (whether
    it used MODSEQ; the header summaries it fetched, which SORT and THREAD reuse)."""
    context = new_evaluation(session, view, view.uids.tolist())
    found = await _match(context, key, set(context.messages))
    return sorted(found), context
