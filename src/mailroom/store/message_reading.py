"""Reading a folder's messages, and what is derived from them and kept in its index.

Messages are stored with LF line ends and served with CRLF (RFC 9051 §2.3.4
counts octets with CRLF). A file may be renamed by another process between
the moment a session looked it up and the moment it opens it (a flag
change is a rename); then the folder is synced once and the new name used.

Derived values (ENVELOPE, BODYSTRUCTURE, … computed by the IMAP layer)
are cached in the index under a field name; the text used by SEARCH BODY
and TEXT is extracted by an injected function (mailroom.message's
search_text) the first time a search needs it, and kept in the index's
FTS5 table. The index is used under the folder's lock, the files are read
and the extraction runs outside it, so a slow search does not hold up the
folder's other work. All blocking: called from the store's threads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from mailroom.store.folder import MessageGone
from mailroom.store.folder_state import FolderState
from mailroom.store.snapshot import crlf

TEXT_BATCH = 200
"""Extracted texts written to the index in one transaction."""


def read_message(state: FolderState, uid: int) -> bytes:
    """The message with CRLF line ends; MessageGone if it was expunged."""
    for attempt in range(2):
        message = state.snapshot.find(uid)
        if message is None:
            break
        try:
            return crlf(message.path.read_bytes())
        except FileNotFoundError:
            if attempt:
                break
            state.sync(force=True)  # renamed by another process: find its new name
    raise MessageGone(uid)


def cached_value(
    state: FolderState, uid: int, field: str, compute: Callable[[bytes], bytes]
) -> bytes:
    """`compute(message)`, from the index when it was computed before."""
    with state.locked_index() as index:
        value = index.cached(uid, field)
    if value is not None:
        return value
    value = compute(read_message(state, uid))
    with state.locked_index() as index:
        if state.snapshot.find(uid) is not None:
            index.put_cached(uid, field, value)
    return value


def read_messages(state: FolderState, uids: list[int]) -> dict[int, bytes]:
    """Several messages at once (CRLF line ends); expunged ones are left out."""
    found = {}
    for uid in uids:
        try:
            found[uid] = read_message(state, uid)
        except MessageGone:
            continue
    return found


def cached_values(
    state: FolderState, uids: list[int], field: str, compute: Callable[[bytes], bytes]
) -> dict[int, bytes]:
    """`cached_value` for several messages: one index query for all, and the missing
    ones computed and stored in one transaction. Expunged messages are left out."""
    with state.locked_index() as index:
        found = index.cached_many(uids, field)
    computed = {}
    for uid in uids:
        if uid in found:
            continue
        try:
            computed[uid] = compute(read_message(state, uid))
        except MessageGone:
            continue
    if computed:
        with state.locked_index() as index:
            index.put_cached_many(
                field, {u: v for u, v in computed.items() if state.snapshot.find(u) is not None}
            )
        found.update(computed)
    return found


def search_text(
    state: FolderState, needle: str, uids: Collection[int], extract: Callable[[bytes], str]
) -> set[int]:
    """The UIDs among `uids` whose extracted text holds `needle`, case-insensitively."""
    with state.locked_index() as index:
        index.prune_texts(set(state.snapshot.uids))
        missing = index.texts_missing(uids)
    batch: list[tuple[int, str]] = []
    for uid in missing:
        # A copy's text comes from its original's index (see Mailbox._copy); else the
        # message is read and its text extracted.
        text = state.pending_texts.pop(uid, None)
        try:
            batch.append((uid, text if text is not None else extract(read_message(state, uid))))
        except MessageGone:
            continue
        if len(batch) >= TEXT_BATCH:
            _put_texts(state, batch)
            batch = []
    _put_texts(state, batch)
    with state.locked_index() as index:
        found = index.search(needle)
    return found & set(uids)


def _put_texts(state: FolderState, batch: list[tuple[int, str]]) -> None:
    if not batch:
        return
    with state.locked_index() as index:
        present = [(uid, text) for uid, text in batch if state.snapshot.find(uid) is not None]
        index.put_texts(present)
