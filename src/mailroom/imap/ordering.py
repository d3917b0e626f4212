"""SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO): keys and the order of messages.

The session gives what only it knows (arrival time, size, sequence number) and the
header-derived keys (`SortHeaders.from_part`, cacheable per message). Ties are broken
by sequence number (RFC 5256 §3: "the order in which they appear in the mailbox"),
and REVERSE reverses one key only, never the tie-break.

String keys are compared after a case mapping: RFC 5256 names i;ascii-casemap, Dovecot
uses i;unicode-casemap (RFC 5051: titlecase and decomposition); `collation_key`
approximates the latter, which is the former on ASCII.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mailroom.imap.commands import SortCriterion, SortKey
from mailroom.message import Address, MessagePart, decode_header, parse_addresses

# --- RFC 5256 §2.1: the base subject ---

_BLANKS = re.compile(r"[ \t\r\n]+")
_BLOB_AT = re.compile(r"\[[^\[\]]*\] *")
_REFWD_AT = re.compile(r"(?:re|fwd?) *(?:\[[^\[\]]*\] *)?:", re.IGNORECASE)
_FWD_HEADER = "[fwd:"


@dataclass(frozen=True)
class BaseSubject:
    text: str
    is_reply_or_forward: bool
    """Whether extraction removed a reply/forward marker (Re:, Fwd:, (fwd), [fwd: …])."""


def extract_base_subject(subject: str) -> BaseSubject:
    """RFC 5256 §2.1 steps 2–7 on a subject already decoded (step 1 is decode_header).

    Works on indexes into the text rather than on slices, and removes a run of
    `[blob]`s in one step, so a hostile subject costs linear time.
    """
    text = _BLANKS.sub(" ", subject)  # step 1: tabs, continuations, runs of blanks
    start, end = 0, len(text)
    marked = False
    while True:
        # step 2: trailing "(fwd)" and blanks
        while end > start:
            if text[end - 1] == " ":
                end -= 1
            elif end - start >= 5 and text[end - 5 : end].lower() == "(fwd)":
                end -= 5
                marked = True
            else:
                break
        # steps 3–5: leading blanks and "[blob]… Re:" go; a run of blobs not followed
        # by Re:/Fwd: goes too, except a last blob that nothing follows (step 4).
        while start < end:
            if text[start] == " ":
                start += 1
                continue
            blob_starts: list[int] = []
            position = start
            while (blob := _BLOB_AT.match(text, position, end)) is not None:
                blob_starts.append(position)
                position = blob.end()
            refwd = _REFWD_AT.match(text, position, end)
            if refwd is not None:
                start = refwd.end()
                marked = True
                continue
            if blob_starts:
                start = position if text[position:end].strip(" ") else blob_starts[-1]
                if start == position:
                    continue
            break
        # step 6: "[fwd: …]" around the whole subject, then again from step 2
        if (
            end - start > len(_FWD_HEADER)
            and text[start : start + len(_FWD_HEADER)].lower() == _FWD_HEADER
            and text[end - 1] == "]"
        ):
            start += len(_FWD_HEADER)
            end -= 1
            marked = True
            continue
        return BaseSubject(text[start:end], marked)


def base_subject_of(raw: bytes | None) -> BaseSubject:
    """The base subject of a raw Subject header value (RFC 2047 words decoded first)."""
    return extract_base_subject(decode_header(raw) if raw is not None else "")


def collation_key(text: str) -> str:
    """Case-insensitive comparison key (an approximation of i;unicode-casemap)."""
    if text.isascii():
        return text.upper()
    return unicodedata.normalize("NFKD", text.upper())


# --- dates ---


def parse_date(raw: bytes | None) -> datetime | None:
    """The Date header as an aware datetime, or None when missing or unparsable."""
    if raw is None:
        return None
    text = raw.decode("latin-1").replace("\r", "").replace("\n", "").strip()
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # "-0000": time zone unknown, read as UTC
    return parsed


def sent_date(part: MessagePart, internaldate: datetime) -> datetime:
    """RFC 5256 §2.2: the Date header, or INTERNALDATE when it cannot be determined."""
    parsed = parse_date(part.header("Date"))
    if parsed is not None:
        return parsed
    return internaldate if internaldate.tzinfo else internaldate.replace(tzinfo=UTC)


# --- keys ---


@dataclass(frozen=True)
class SortHeaders:
    """The header-derived SORT keys of one message (cheap to cache)."""

    date: datetime | None
    subject: str
    from_mailbox: str
    to_mailbox: str
    cc_mailbox: str
    display_from: str
    display_to: str

    @classmethod
    def from_part(cls, part: MessagePart) -> SortHeaders:
        return cls(
            date=parse_date(part.header("Date")),
            subject=collation_key(base_subject_of(part.header("Subject")).text),
            from_mailbox=_mailbox_key(part.header("From")),
            to_mailbox=_mailbox_key(part.header("To")),
            cc_mailbox=_mailbox_key(part.header("Cc")),
            display_from=_display_key(part.header("From")),
            display_to=_display_key(part.header("To")),
        )


def _first_address(raw: bytes | None) -> Address | None:
    """The first entry of an address list as Dovecot's SORT reads it: a group's start
    marker when the list begins with a group (`undisclosed-recipients:;`, `Team: a@b;`),
    so that the group name is what sorts, as strict testers and Dovecot expect; else
    the first mailbox (whose name may come from a comment, `a@b (Name)`)."""
    if raw is None:
        return None
    for address in parse_addresses(raw):
        if address.mailbox is not None:
            return address
    return None


def _group_name(address: Address) -> str | None:
    """The decoded name of a group start marker (host None), else None."""
    if address.host is not None or address.mailbox is None:
        return None
    return decode_header(address.mailbox.encode("utf-8", "surrogateescape")).strip()


def _mailbox_key(raw: bytes | None) -> str:
    """RFC 5256 §3: the addr-mailbox (local part) of the first address; for a group, its
    name (Dovecot: the group marker's mailbox)."""
    address = _first_address(raw)
    if address is None:
        return ""
    group = _group_name(address)
    return collation_key(group if group is not None else address.mailbox or "")


def _display_key(raw: bytes | None) -> str:
    """RFC 5957 §3: the decoded display name of the first address, else its addr-spec;
    for a group, its name (a group has no display name nor domain: Dovecot falls back
    to the marker's mailbox, the group name)."""
    address = _first_address(raw)
    if address is None:
        return ""
    group = _group_name(address)
    if group is not None:
        return collation_key(group)
    name = address.display_name
    return collation_key(name.strip() if name and name.strip() else address.addr_spec)


@dataclass(frozen=True)
class SortItem:
    """One message to sort: `id` is what the response lists (sequence number or UID)."""

    id: int
    sequence: int
    arrival: datetime
    size: int
    headers: SortHeaders


def _timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def sort_key(key: SortKey, item: SortItem) -> str | float | int:
    """The value SORT compares for `key` (strings already case-mapped)."""
    headers = item.headers
    if key is SortKey.ARRIVAL:
        return _timestamp(item.arrival)
    if key is SortKey.DATE:
        return _timestamp(headers.date if headers.date is not None else item.arrival)
    if key is SortKey.SIZE:
        return item.size
    if key is SortKey.SUBJECT:
        return headers.subject
    if key is SortKey.FROM:
        return headers.from_mailbox
    if key is SortKey.TO:
        return headers.to_mailbox
    if key is SortKey.CC:
        return headers.cc_mailbox
    if key is SortKey.DISPLAYFROM:
        return headers.display_from
    return headers.display_to


def _key_function(key: SortKey) -> Callable[[SortItem], str | float | int]:
    def function(item: SortItem) -> str | float | int:
        return sort_key(key, item)

    return function


def sort_messages(items: Iterable[SortItem], criteria: Sequence[SortCriterion]) -> list[int]:
    """The ids of `items` in SORT order; equal keys keep mailbox (sequence) order."""
    ordered = sorted(items, key=lambda item: item.sequence)
    # Stable sorts from the last key to the first give the lexicographic order;
    # reverse=True keeps equal items in their previous (sequence) order.
    for criterion in reversed(criteria):
        ordered.sort(key=_key_function(criterion.key), reverse=criterion.reverse)
    return [item.id for item in ordered]
