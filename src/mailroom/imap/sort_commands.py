"""SORT and THREAD (RFC 5256; RFC 5267 ESORT and sorted contexts, RFC 5957
SORT=DISPLAY, RFC 7162 MODSEQ): the messages the search keys find (search.py), put in
order from the header summaries the mailbox's index keeps.

A SORT context (RETURN (UPDATE), RFC 5267 §4.3) keeps the result in its order: the
keys SORT compares never change for a message, so a changed result is the old one
with some messages taken out and some put in at their places (search_contexts.py).
"""

from __future__ import annotations

from mailroom.imap import responses, search, search_contexts
from mailroom.imap.commands import Command, Sort, SortCriterion, SortKey, Thread
from mailroom.imap.context import SessionContext
from mailroom.imap.esearch import esearch, shown_options
from mailroom.imap.ordering import SortHeaders, SortItem, sort_messages
from mailroom.imap.search import Evaluation
from mailroom.imap.selected import SelectedView, selected_view
from mailroom.imap.thread_algorithms import (
    ThreadInput,
    format_threads,
    thread_orderedsubject,
    thread_references,
)

EMPTY_HEADERS = SortHeaders(None, "", "", "", "", "", "")


async def sort_items(
    view: SelectedView, evaluation: Evaluation, uids: list[int], criteria: tuple[SortCriterion, ...]
) -> list[SortItem]:
    """What SORT compares of `uids` (messages the view numbers). The tie-break is the
    UID: in a view, UIDs ascend with sequence numbers (RFC 5256 §3's mailbox order),
    and unlike a number it stays right for a context's items when messages go."""
    needs_headers = any(c.key not in (SortKey.ARRIVAL, SortKey.SIZE) for c in criteria)
    if needs_headers:
        await search.prefetch_summaries(evaluation, uids)
    items = []
    for uid in uids:
        message = view.mailbox.find(uid)
        if message is None or view.sequence_of(uid) is None:
            continue
        headers = EMPTY_HEADERS
        if needs_headers:
            summary = await search.summary_of(evaluation, uid)
            headers = summary.headers if summary is not None else EMPTY_HEADERS
        items.append(SortItem(uid, uid, message.internaldate, message.size, headers))
    return items


def sorter(
    session: SessionContext,
    view: SelectedView,
    criteria: tuple[SortCriterion, ...],
    items: list[SortItem],
) -> search_contexts.Sorter:
    """How a SORT context puts its messages in order again: the items of its result
    are kept (the keys SORT compares never change), only new messages are read."""
    known = {item.id: item for item in items}

    async def order(uids: list[int]) -> list[int]:
        missing = [uid for uid in uids if uid not in known]
        if missing:
            evaluation = search.new_evaluation(session, view, missing)
            for item in await sort_items(view, evaluation, missing, criteria):
                known[item.id] = item
        wanted = set(uids)
        for uid in [uid for uid in known if uid not in wanted]:
            del known[uid]
        return sort_messages([known[uid] for uid in uids if uid in known], criteria)

    return order


async def sort(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Sort)
    args = command.args
    search.check_charset(args.charset)
    view = selected_view(session.selected)
    options = args.return_options
    updating = options is not None and "UPDATE" in options
    if updating:
        search_contexts.check_tag(view, command.tag)
    mark = (view.mailbox.snapshot.highestmodseq, view.uids[-1] if view.uids else 0)
    uids, evaluation = await search.evaluate(session, view, args.key)
    modseq = None
    if evaluation.used_modseq:  # RFC 7162 §3.1.5, as for SEARCH (and Dovecot)
        session.enable_condstore()
        found = (view.mailbox.find(uid) for uid in uids)
        modseq = max((m.modseq for m in found if m is not None), default=0) or None
    items = await sort_items(view, evaluation, uids, args.criteria)
    ordered_uids = sort_messages(items, args.criteria)
    ordered = ordered_uids if command.uid else [view.sequence_of(u) or 0 for u in ordered_uids]
    if options is not None:
        shown = shown_options(options)
        if shown or updating:
            session.write(
                esearch(
                    command.tag,
                    command.uid,
                    ordered,
                    shown,
                    modseq,
                    sorted_ids=False,
                    partial=args.partial,
                )
            )
        if updating:
            match = search.matcher(session, view)
            order = sorter(session, view, args.criteria, items)
            search_contexts.start(
                session, view, command, args.key, ordered_uids, match, mark, order
            )
    else:
        line = b"* SORT" + b"".join(b" %d" % n for n in ordered)
        if modseq is not None and ordered:
            line += b" (MODSEQ %d)" % modseq
        session.write(line + b"\r\n")
    await session.tagged_ok(command, "Sort completed.")


async def thread(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Thread)
    args = command.args
    search.check_charset(args.charset)
    if args.algorithm not in ("REFERENCES", "ORDEREDSUBJECT"):
        raise responses.bad("Unknown thread algorithm.")
    view = selected_view(session.selected)
    uids, context = await search.evaluate(session, view, args.key)
    await search.prefetch_summaries(context, uids)
    inputs = []
    for uid in uids:
        message = view.mailbox.find(uid)
        number = view.sequence_of(uid)
        if message is None or number is None:
            continue
        summary = await search.summary_of(context, uid)
        if summary is None:
            continue
        arrival = message.internaldate
        inputs.append(
            ThreadInput(
                id=uid if command.uid else number,
                sequence=number,
                date=summary.date or arrival,
                message_id=summary.message_id,
                references=summary.references,
                subject=summary.subject,
                is_reply_or_forward=summary.is_reply,
            )
        )
    if args.algorithm == "REFERENCES":
        threads = thread_references(inputs)
    else:
        threads = thread_orderedsubject(inputs)
    session.write(b"* THREAD " + format_threads(threads) + b"\r\n")
    await session.tagged_ok(command, "Thread completed.")
