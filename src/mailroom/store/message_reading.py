"""Reading a folder's messages, and what is derived from them and kept in its index.

Messages are stored with LF line ends and served with CRLF (RFC 9051 §2.3.4
counts octets with CRLF). A file may be renamed by another process between
the moment a session looked it up and the moment it opens it (a flag
change is a rename); then the folder is synced once and the new name used.

Derived values (ENVELOPE, BODYSTRUCTURE, … computed by the IMAP layer)
are cached in the index under a field name; the text used by SEARCH BODY
and TEXT is extracted by an injected function (mailroom.message's
search_text) the first time a search needs it, and kept in the index. The
index is used under the folder's lock, the files are read and the
extraction runs outside it, so a slow search does not hold up the folder's
other work. All blocking: called from the store's threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection

from mailroom.store.errors import MessageGone
from mailroom.store.file_changes import Directories
from mailroom.store.folder_state import FolderState
from mailroom.store.index import TextRow, folded_texts
from mailroom.store.snapshot import crlf

READ_CHUNK = 1024 * 1024
"""Bytes read at a time from a message file larger than its recorded size."""
TEXT_BATCH = 200
"""Extracted texts written to the index in one transaction."""


def read_message(state: FolderState, uid: int, directories: Directories | None = None) -> bytes:
    """The message with CRLF line ends; MessageGone if it was expunged. `directories`:
    the open folder directories of a batch of reads."""
    for attempt in range(2):
        message = state.snapshot.find(uid)
        if message is None:
            break
        try:
            if directories is None:
                data = read_file(message.file_path, message.stored_size)
            else:
                directory = directories.fd(message.folder, message.recent)
                data = read_file(message.file_name, message.stored_size, directory)
            return crlf(data)
        except FileNotFoundError:
            if attempt:
                break
            state.sync(force=True)  # renamed by another process: find its new name
    raise MessageGone(uid)


def read_file(path: str, size: int, dir_fd: int | None = None) -> bytes:
    """The whole file at `path`, expected to be `size` bytes long: one read() when it is.

    A wrong size (the file was rewritten by another program since it was recorded)
    never truncates the message: asking for one byte more shows a larger file, and
    reading then goes on to the end. os.open rather than pathlib: this runs for every
    message of a body FETCH.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        data = os.read(fd, size + 1)
        if len(data) == size:  # a regular file reads short only at its end
            return data
        chunks = [data]
        while chunk := os.read(fd, READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


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
    directories = Directories()
    try:
        for uid in uids:
            try:
                found[uid] = read_message(state, uid, directories)
            except MessageGone:
                continue
    finally:
        directories.close()
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
    state: FolderState,
    needle: str,
    uids: Collection[int],
    extract: Callable[[bytes], tuple[str, str]],
    body_only: bool,
) -> set[int]:
    """The UIDs among `uids` whose extracted body text (and header, unless `body_only`)
    holds `needle`, case-insensitively."""
    with state.locked_index() as index:
        index.drop_texts(set(state.snapshot.uids))
        missing = index.texts_missing(uids)
    # A copy's texts came from its original's index (Mailbox._copy); these are new.
    batch: list[TextRow] = []
    for uid in missing:
        try:
            batch.append(folded_texts(uid, *extract(read_message(state, uid))))
        except MessageGone:
            continue
        if len(batch) >= TEXT_BATCH:
            _put_texts(state, batch)
            batch = []
    _put_texts(state, batch)
    with state.locked_index() as index:
        found = index.search(needle, head=not body_only)
    return found.intersection(uids)


def _put_texts(state: FolderState, batch: list[TextRow]) -> None:
    if not batch:
        return
    with state.locked_index() as index:
        index.put_texts(row for row in batch if state.snapshot.find(row[0]) is not None)
