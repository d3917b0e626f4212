"""After a crash: find every committed message again, and remove what was never committed.

Run by `MailQueue.open()`, in a thread, before anything else touches the
queue. The rules follow from how a commit is made (writer.py):
- everything in `incoming/` was never acknowledged and is deleted, except an
  `incoming/ID.msg` whose `active/ID.env` exists: that commit's renames
  reached the disk out of order, and the message is moved on into `active/`;
- in `active/`, an `ID.msg` without `ID.env` is a commit interrupted between
  its two renames (never acknowledged) and is deleted;
- an `ID.env` that cannot be read, or whose message is missing, is moved to
  `corrupt/` with whatever is left of its message and logged as an error:
  such a message needs a person, and deleting it could lose mail;
- files with names that are not a queue id's are left alone, and logged.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from mailroom.durable import fsync_directory, make_directory
from mailroom.queue.entry import QueueEntry
from mailroom.queue.envelope import Envelope, EnvelopeError
from mailroom.queue.errors import QueueInUse
from mailroom.queue.ids import is_queue_id
from mailroom.queue.layout import QueueLayout

log = logging.getLogger("mailroom.queue")


def lock_queue(layout: QueueLayout) -> BinaryIO:
    """Take the queue's lock file (held while the returned file is open). One process
    at a time may own a queue: recovery would delete another's messages in progress.
    The owner's worker processes (`[server] workers`) take no lock: they only write
    new messages under ids of their own (ids.py) and hand them to the owner
    (`MailQueue.adopt`); another host's server, or a second one here, is kept out."""
    make_directory(layout.root)
    handle = open(layout.root / "lock", "a+b")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise QueueInUse(
            f"the queue {layout.root} is in use by another Mailroom process; "
            "stop it first (or use `mailroom queue list`, which only reads)"
        ) from None
    return handle


def recover(layout: QueueLayout) -> list[QueueEntry]:
    """Create missing directories, clean up, and return the committed messages (blocking)."""
    for directory in layout.directories():
        make_directory(directory)
    _recover_incoming(layout)
    entries = []
    for queue_id, names in sorted(_group_by_id(layout.active).items()):
        entry = _recover_active(layout, queue_id, names)
        if entry is not None:
            entries.append(entry)
    fsync_directory(layout.active)
    fsync_directory(layout.incoming)
    return entries


def _recover_incoming(layout: QueueLayout) -> None:
    for queue_id, names in _group_by_id(layout.incoming).items():
        for name in names:
            path = layout.incoming / name
            message = layout.message(queue_id)
            if name == message.name and layout.envelope(queue_id).exists() and not message.exists():
                os.rename(path, message)
                log.warning("%s: finished a commit interrupted by a crash", queue_id)
                continue
            path.unlink()
            if name == message.name:
                log.info("%s: removed an incomplete message (never acknowledged)", queue_id)


def _recover_active(layout: QueueLayout, queue_id: str, names: set[str]) -> QueueEntry | None:
    message, envelope_file = layout.message(queue_id), layout.envelope(queue_id)
    for name in names - {message.name, envelope_file.name}:
        log.warning("%s: unexpected file %s left alone", queue_id, layout.active / name)
    if envelope_file.name not in names:
        message.unlink()
        log.info("%s: removed an incomplete message (commit was interrupted)", queue_id)
        return None
    try:
        envelope = Envelope.from_json(envelope_file.read_bytes())
        if message.name not in names:
            raise EnvelopeError("its message file is missing")
    except EnvelopeError as error:
        for path in (envelope_file, message):
            with suppress(FileNotFoundError):
                os.rename(path, layout.corrupt / path.name)
        fsync_directory(layout.corrupt)
        log.error("%s: moved to %s: unreadable envelope: %s", queue_id, layout.corrupt, error)
        return None
    return QueueEntry(queue_id, envelope, message.stat().st_size)


def read_committed(layout: QueueLayout, queue_id: str) -> QueueEntry | None:
    """The committed message `queue_id` in active/, read as recovery reads it (blocking):
    for the owner adopting a message another process of this host (a worker) committed.
    None if it is not there (removed, or never committed); an unreadable envelope is
    moved to corrupt/ as recovery would."""
    if not is_queue_id(queue_id):
        return None
    names = {
        path.name for path in (layout.message(queue_id), layout.envelope(queue_id)) if path.exists()
    }
    if layout.envelope(queue_id).name not in names:
        return None
    return _recover_active(layout, queue_id, names)


def _group_by_id(directory: Path) -> dict[str, set[str]]:
    """File names in `directory` grouped by queue id; foreign names are logged and left."""
    groups: dict[str, set[str]] = {}
    for name in _names(directory):
        queue_id = name.split(".", 1)[0]
        if is_queue_id(queue_id) and name != queue_id:
            groups.setdefault(queue_id, set()).add(name)
        else:
            log.warning("unexpected file %s left alone", directory / name)
    return groups


def _names(directory: Path) -> Iterator[str]:
    try:
        with os.scandir(directory) as scan:
            for item in scan:
                yield item.name
    except OSError as error:
        if error.errno != errno.ENOENT:
            raise
