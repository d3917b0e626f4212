"""Reading the queue from outside the server (`mailroom queue list|show`), like Postfix's
`postqueue -p`: from the files alone, changing nothing, while the server may run.

A message being committed or removed at the same moment may be missed or shown
once more; an envelope half-replaced is never seen (replacements are renames).
"""

from __future__ import annotations

from pathlib import Path

from mailroom.queue.entry import QueueEntry
from mailroom.queue.envelope import Envelope, EnvelopeError
from mailroom.queue.ids import is_queue_id
from mailroom.queue.layout import QueueLayout


def read_queue(directory: Path) -> list[QueueEntry]:
    """Every committed message, oldest first; unreadable ones are skipped."""
    layout = QueueLayout(directory)
    entries = []
    try:
        names = sorted(path.name for path in layout.active.glob("*.env"))
    except OSError:
        return []
    for name in names:
        queue_id = name.removesuffix(".env")
        if is_queue_id(queue_id):
            entry = read_entry(directory, queue_id)
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda entry: (entry.envelope.received_at, entry.queue_id))
    return entries


def read_entry(directory: Path, queue_id: str) -> QueueEntry | None:
    """One committed message, or None if there is none (or it cannot be read now)."""
    layout = QueueLayout(directory)
    if not is_queue_id(queue_id):
        return None
    try:
        envelope = Envelope.from_json(layout.envelope(queue_id).read_bytes())
        size = layout.message(queue_id).stat().st_size
    except (OSError, EnvelopeError):
        return None
    return QueueEntry(queue_id, envelope, size)
