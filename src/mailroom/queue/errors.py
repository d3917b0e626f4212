"""What can go wrong in the queue, as types a caller can tell apart.

Each error's `str()` starts with the queue id when there is one, like every
log line about a message.
"""

from __future__ import annotations


class QueueError(Exception):
    """The queue could not do what was asked; the message says what and why."""


class UnknownMessage(QueueError, LookupError):
    def __init__(self, queue_id: str) -> None:
        self.queue_id = queue_id
        super().__init__(f"{queue_id!r} is not a message in the queue")


class CommitFailed(QueueError):
    """The message could not be made durable; nothing was acknowledged, answer 451."""


class QueueInUse(QueueError):
    """Another process has the queue open."""
