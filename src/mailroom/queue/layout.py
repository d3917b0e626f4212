"""Where the queue keeps what, on disk.

Like Postfix's queue, it is plain files moved between directories, so an
administrator can see it with `ls` and a crash leaves nothing a restart
cannot sort out. Under the queue directory (the app passes `data_dir/queue`):

    incoming/     work in progress; everything here is garbage after a crash
      ID.msg        a message being received
      ID.env        its envelope, written at commit
      ID.update     a changed envelope being written
    active/       committed messages: the queue proper
      ID.msg        the message exactly as received; never changed after commit
      ID.env        its envelope (JSON, see envelope.py); its presence is the commit
    corrupt/      envelopes that could not be read, kept for a person to look at

How files get there and leave: writer.py (commit), spool.py (state changes
and removal), recovery.py (after a crash).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class QueueLayout:
    root: Path

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @property
    def active(self) -> Path:
        return self.root / "active"

    @property
    def corrupt(self) -> Path:
        return self.root / "corrupt"

    def directories(self) -> tuple[Path, ...]:
        return (self.root, self.incoming, self.active, self.corrupt)

    def message(self, queue_id: str, directory: Path | None = None) -> Path:
        return (directory or self.active) / f"{queue_id}.msg"

    def envelope(self, queue_id: str, directory: Path | None = None) -> Path:
        return (directory or self.active) / f"{queue_id}.env"

    def envelope_update(self, queue_id: str) -> Path:
        return self.incoming / f"{queue_id}.update"
