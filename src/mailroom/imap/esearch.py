"""The ESEARCH response (RFC 4731 §3.1) of SEARCH and SORT (RFC 5267 ESORT), with the
PARTIAL, ADDTO and REMOVEFROM data of RFC 5267 §4. Pure: ids in, one line out.

SEARCH results are in mailbox order and written as compact sets (`2:4,9`); SORT
results keep their order (`4,2:3,1,5`: only ascending runs become ranges), as Dovecot
writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mailroom.imap.sequence import format_set, ordered_set

RESULT_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "PARTIAL"})
"""The RETURN options that show data; SAVE, CONTEXT and UPDATE show none."""


def shown_options(options: frozenset[str]) -> frozenset[str]:
    """What the ESEARCH answer shows: `RETURN ()` and `RETURN (CONTEXT)` mean ALL
    (RFC 4731 §3.1; CONTEXT is a hint, RFC 5267 §4.2); SAVE or UPDATE alone show
    nothing (as Dovecot)."""
    if not options - {"CONTEXT"}:
        return frozenset({"ALL"})
    return options & RESULT_OPTIONS


def esearch(
    tag: str,
    uid: bool,
    ids: Sequence[int],
    options: Iterable[str],
    modseq: int | None,
    *,
    sorted_ids: bool = True,
    partial: tuple[int, int] | None = None,
) -> bytes:
    """RFC 4731 §3.1: `* ESEARCH (TAG "a1") UID MIN 2 MAX 9 ALL 2:4,9 COUNT 4`.

    For SORT (RFC 5267 §3.1, `sorted_ids=False`) the ids are in sort order: MIN
    and MAX are the first and last, and ALL keeps the order (as Dovecot)."""
    parts = [_head(tag, uid)]
    options = set(options)
    # In Dovecot's order: MIN MAX ALL PARTIAL COUNT MODSEQ.
    if ids:
        if "MIN" in options:
            parts.append(b"MIN %d" % (min(ids) if sorted_ids else ids[0]))
        if "MAX" in options:
            parts.append(b"MAX %d" % (max(ids) if sorted_ids else ids[-1]))
        if "ALL" in options:
            parts.append(b"ALL " + id_set(ids, sorted_ids).encode())
    if partial is not None and "PARTIAL" in options:
        parts.append(partial_data(ids, partial, sorted_ids))
    if "COUNT" in options:
        parts.append(b"COUNT %d" % len(ids))
    if modseq is not None and ids:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts) + b"\r\n"


def partial_data(ids: Sequence[int], partial: tuple[int, int], sorted_ids: bool) -> bytes:
    """RFC 5267 §4.4: `PARTIAL (low:high set)`, the results at positions low to high
    (from 1), NIL when none is; a range past the end gives what there is."""
    low, high = partial
    chosen = ids[low - 1 : high]
    text = id_set(chosen, sorted_ids) if chosen else "NIL"
    return b"PARTIAL (%d:%d %s)" % (low, high, text.encode())


def update_data(
    tag: str,
    uid: bool,
    removed: Sequence[tuple[int, Sequence[int]]],
    added: Sequence[tuple[int, Sequence[int]]],
) -> bytes:
    """RFC 5267 §4.3.3–4: `* ESEARCH (TAG "a1") UID REMOVEFROM (0 3) ADDTO (0 5:6)`,
    each a list of (context position, ids) pairs; position 0 for SEARCH, whose ids
    are in mailbox order, a position for SORT, whose ids keep their order. Empty
    when nothing changed."""
    if not removed and not added:
        return b""
    parts = [_head(tag, uid)]
    for name, pairs in ((b"REMOVEFROM", removed), (b"ADDTO", added)):
        if pairs:
            items = b" ".join(
                b"%d %s" % (position, id_set(ids, position == 0).encode())
                for position, ids in pairs
            )
            parts.append(name + b" (" + items + b")")
    return b" ".join(parts) + b"\r\n"


def id_set(ids: Sequence[int], sorted_ids: bool) -> str:
    """A compact set (mailbox order), or one that keeps the order of `ids`."""
    return format_set(ids) if sorted_ids else ordered_set(ids)


def _head(tag: str, uid: bool) -> bytes:
    head = b'* ESEARCH (TAG "%s")' % tag.encode()
    return head + b" UID" if uid else head
