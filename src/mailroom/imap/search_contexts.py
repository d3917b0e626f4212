"""Updating search contexts (RFC 5267 §4.3): `SEARCH RETURN (UPDATE) …` keeps telling
the client which messages join or leave the result, until CANCELUPDATE or until the
mailbox is no longer selected.

The contexts of a selected mailbox hang on its `SelectedView` (`search_updates`), which
calls them from `updates()`, the code that also writes EXISTS, EXPUNGE and FETCH: an
expunged message leaves a result (REMOVEFROM) before its EXPUNGE, while its sequence
number is still valid; messages that are new or whose flags changed are tested again
after EXISTS, so that ADDTO may name their numbers (RFC 5267 §4.3.3–4). Which messages
changed is read from the mailbox's mod-sequences, with a mark of our own: the view's
mark skips this session's own STOREs, which a context must see too.

Sequence numbers and `$` in the search keys are evaluated when the command is given
(RFC 5267 §4.3), and so is `*` in a UID set: the kept keys name UIDs only. OLDER and
YOUNGER change with the clock, not with the mailbox: no context for them (NOUPDATE).
A session holds at most `MAX_CONTEXTS` contexts, as Dovecot (CLIENT_MAX_SEARCH_UPDATES);
more are refused with `* NO [NOUPDATE "tag"]` (RFC 5267 §4.3.1) and the command's
other return options still answered.

A SEARCH context says position 0 and sets in mailbox order (as Dovecot); a SORT
context (CONTEXT=SORT, which Dovecot does not offer) keeps its result in order and
names the positions where messages leave and join it (§4.3.3–4).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from mailroom.imap import responses
from mailroom.imap import search_keys as keys
from mailroom.imap.commands import CancelUpdate, Command
from mailroom.imap.context import SessionContext
from mailroom.imap.esearch import update_data
from mailroom.imap.search_keys import SearchKey
from mailroom.imap.selected import SelectedView, selected_view
from mailroom.imap.sequence import SequenceSet

MAX_CONTEXTS = 10
"""Updating contexts per session (Dovecot's CLIENT_MAX_SEARCH_UPDATES)."""

Matcher = Callable[[SearchKey, set[int]], Awaitable[set[int]]]
"""Which of some UIDs (of messages the mailbox has) match a search key."""
Sorter = Callable[[list[int]], Awaitable[list[int]]]
"""Some UIDs in a SORT's order (those of messages the mailbox still has)."""
Pairs = list[tuple[int, list[int]]]
"""ADDTO / REMOVEFROM data: (context position, UIDs) pairs, in the order to apply."""


@dataclass
class _Context:
    tag: str
    uid: bool
    """UID SEARCH: updates name UIDs; SEARCH: sequence numbers."""
    key: SearchKey
    matched: set[int]
    """The UIDs in the result as the client knows it."""
    match: Matcher
    sorter: Sorter | None = None
    """A SORT context's: then `order` is the result in its order."""
    order: list[int] | None = None


class SearchContexts:
    """The updating contexts of one selected mailbox, in the order they were made."""

    def __init__(self, modseq: int, last_uid: int) -> None:
        self._contexts: dict[str, _Context] = {}
        self._modseq = modseq
        """Every change up to this mod-sequence has been tested by every context."""
        self._last_uid = last_uid
        """Every message up to this UID has been tested by every context."""

    def __contains__(self, tag: str) -> bool:
        return tag in self._contexts

    def __len__(self) -> int:
        return len(self._contexts)

    def add(self, context: _Context) -> None:
        self._contexts[context.tag] = context

    def cancel(self, tag: str) -> bool:
        return self._contexts.pop(tag, None) is not None

    def expunging(self, view: SelectedView, gone: Sequence[int]) -> bytes:
        """REMOVEFROM for the expunged messages in a result, numbered as the client
        still numbers them (before the EXPUNGE responses)."""
        out = []
        for context in self._contexts.values():
            removed = [uid for uid in gone if uid in context.matched]
            if removed:
                out.append(_update(view, context, _remove(context, removed), []))
        return b"".join(out)

    async def changed(self, view: SelectedView) -> bytes:
        """ADDTO and REMOVEFROM for the messages that are new or changed since the last
        call (after EXISTS, so that the new messages have their numbers)."""
        snapshot = view.mailbox.snapshot
        last_uid = snapshot.uids[-1] if snapshot.uids else 0
        if snapshot.highestmodseq <= self._modseq and last_uid <= self._last_uid:
            return b""
        if not self._contexts:  # all cancelled: nothing to test
            self._modseq, self._last_uid = snapshot.highestmodseq, last_uid
            return b""
        candidates = {
            message.uid
            for message in snapshot.messages
            if message.modseq > self._modseq or message.uid > self._last_uid
        }
        self._modseq, self._last_uid = snapshot.highestmodseq, last_uid
        out = []
        for context in list(self._contexts.values()):
            found = await context.match(context.key, candidates)
            added = sorted(uid for uid in found if uid not in context.matched)
            removed = sorted(uid for uid in candidates - found if uid in context.matched)
            if removed or added:
                removals = _remove(context, removed)
                additions = await _add(context, added)
                out.append(_update(view, context, removals, additions))
        return b"".join(out)


def _remove(context: _Context, removed: list[int]) -> Pairs:
    """Take `removed` (ascending UIDs) out of the result (position 0 for SEARCH)."""
    context.matched.difference_update(removed)
    if not removed:
        return []
    if context.order is None:
        return [(0, removed)]
    pairs, context.order = removal_pairs(context.order, set(removed))
    return pairs


async def _add(context: _Context, added: list[int]) -> Pairs:
    """Put `added` (ascending UIDs) into the result (position 0 for SEARCH); a SORT
    result is sorted again, with its messages and the new ones."""
    context.matched.update(added)
    if not added:
        return []
    if context.order is None or context.sorter is None:
        return [(0, added)]
    kept = context.order
    order = _keep_the_absent(await context.sorter(sorted(set(kept) | set(added))), kept)
    context.order = order
    return addition_pairs(order, set(added))


def removal_pairs(order: list[int], removed: set[int]) -> tuple[Pairs, list[int]]:
    """REMOVEFROM pairs that take `removed` out of `order`, and what is left: the runs
    of positions they held, the last run first, so that each position is still right
    when the client comes to it (RFC 5267 §4.3.4)."""
    positions = [index for index, uid in enumerate(order) if uid in removed]
    pairs = [(run[0] + 1, [order[i] for i in run]) for run in _runs(positions)]
    return pairs[::-1], [uid for uid in order if uid not in removed]


def addition_pairs(order: list[int], added: set[int]) -> Pairs:
    """ADDTO pairs that make `order` from `order` without `added`: the runs of
    positions they take, the first run first (RFC 5267 §4.3.3)."""
    positions = [index for index, uid in enumerate(order) if uid in added]
    return [(run[0] + 1, [order[i] for i in run]) for run in _runs(positions)]


def _keep_the_absent(order: list[int], kept: list[int]) -> list[int]:
    """`order` with the messages of `kept` that it lacks (expunged, their EXPUNGE held
    back while a command runs) put back after the message they followed: the client
    still has them, and their REMOVEFROM is yet to come."""
    present = set(order)
    if all(uid in present for uid in kept):
        return order
    result = list(order)
    for index, uid in enumerate(kept):
        if uid not in present:
            at = result.index(kept[index - 1]) + 1 if index else 0
            result.insert(at, uid)
            present.add(uid)
    return result


def _runs(positions: list[int]) -> list[list[int]]:
    """Ascending positions in runs of consecutive ones: [1, 2, 5] → [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][-1] == position - 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs


def _update(view: SelectedView, context: _Context, removed: Pairs, added: Pairs) -> bytes:
    if not context.uid:
        removed = [(position, _numbers(view, uids)) for position, uids in removed]
        added = [(position, _numbers(view, uids)) for position, uids in added]
    return update_data(context.tag, context.uid, removed, added)


def _numbers(view: SelectedView, uids: list[int]) -> list[int]:
    numbers = (view.sequence_of(uid) for uid in uids)
    return [number for number in numbers if number is not None]


def _contexts(view: SelectedView) -> SearchContexts | None:
    hook = view.search_updates
    return hook if isinstance(hook, SearchContexts) else None


def check_tag(view: SelectedView, tag: str) -> None:
    """RFC 5267 §4.3: UPDATE with the tag of a live context is BAD."""
    contexts = _contexts(view)
    if contexts is not None and tag in contexts:
        raise responses.bad("Duplicate search update tag")


def refusal(tag: str, text: str) -> bytes:
    """RFC 5267 §4.3.1: `* NO [NOUPDATE "tag"] text`."""
    return b'* NO [NOUPDATE "%s"] %s\r\n' % (tag.encode(), text.encode())


def start(
    session: SessionContext,
    view: SelectedView,
    command: Command,
    key: SearchKey,
    uids: list[int],
    match: Matcher,
    mark: tuple[int, int],
    sorter: Sorter | None = None,
) -> None:
    """Keep a context for `command` (its result `uids`, in SORT order with a
    `sorter`), or say NOUPDATE.

    `mark`: the mailbox's (HIGHESTMODSEQ, last UID) before the search ran; the
    changes after it are tested again at the next update."""
    kept = freeze(key, view)
    if kept is None:
        session.write(refusal(command.tag, "Cannot update this search"))
        return
    contexts = _contexts(view)
    if contexts is None:
        contexts = SearchContexts(*mark)
        view.search_updates = contexts
    if len(contexts) >= MAX_CONTEXTS:
        session.write(refusal(command.tag, "Too many updating contexts"))
        return
    order = list(uids) if sorter is not None else None
    contexts.add(_Context(command.tag, command.uid, kept, set(uids), match, sorter, order))


def freeze(key: SearchKey, view: SelectedView) -> SearchKey | None:
    """`key` with sequence numbers, `$` and `*` turned into the UIDs they name now;
    None when a key's matches change with time (OLDER, YOUNGER)."""
    if isinstance(key, keys.Within):
        return None
    if isinstance(key, keys.Sequence):
        return keys.Uid(uid_set(view.uids_of(key.numbers, uid=False)))
    if isinstance(key, keys.Uid):
        if key.uids.saved:
            return keys.Uid(uid_set(view.uids_of(key.uids, uid=True)))
        largest = view.uids[-1] if view.uids else 0
        return keys.Uid(SequenceSet(tuple(key.uids.bounds(largest))))
    if isinstance(key, keys.Not):
        inner = freeze(key.key, view)
        return None if inner is None else keys.Not(inner)
    if isinstance(key, keys.Or):
        left, right = freeze(key.left, view), freeze(key.right, view)
        return None if left is None or right is None else keys.Or(left, right)
    if isinstance(key, keys.And):
        parts = [freeze(part, view) for part in key.keys]
        kept = [part for part in parts if part is not None]
        return None if len(kept) < len(parts) else keys.And(tuple(kept))
    return key


def uid_set(uids: list[int]) -> SequenceSet:
    """The ascending `uids` as ranges."""
    ranges: list[tuple[int | None, int | None]] = []
    for uid in uids:
        if ranges and ranges[-1][1] == uid - 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return SequenceSet(tuple(ranges))


async def cancelupdate(session: SessionContext, command: Command) -> None:
    """RFC 5267 §4.3.5. As Dovecot: NO for a tag with no context (the tags before it
    are cancelled all the same)."""
    assert isinstance(command.args, CancelUpdate)
    view = selected_view(session.selected)
    contexts = _contexts(view)
    for tag in command.args.tags:
        if contexts is None or not contexts.cancel(tag):
            raise responses.no("Unknown tag.")
    await session.tagged_ok(command, "Updates cancelled.")
