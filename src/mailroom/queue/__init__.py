"""The durable queue: messages accepted and not yet delivered.

layout.py says what lies where on disk; writer.py how a message gets in;
spool.py how the delivery side takes messages out; recovery.py what happens
after a crash; group_commit.py how commits share their fsyncs.

Uses no other part of Mailroom but its own files: the delivery side asks it for
due messages and reports results; it never delivers anything itself.
"""

from mailroom.queue.entry import QueueEntry, RecipientResult
from mailroom.queue.envelope import (
    ClientInfo,
    Envelope,
    EnvelopeError,
    EnvelopeRecipient,
    MailParams,
    RecipientState,
)
from mailroom.queue.errors import CommitFailed, QueueError, QueueInUse, UnknownMessage
from mailroom.queue.group_commit import GroupCommitter
from mailroom.queue.ids import is_queue_id, new_queue_id, queue_id_slot, use_process_slot
from mailroom.queue.inspection import read_entry, read_queue
from mailroom.queue.retry import RetrySchedule
from mailroom.queue.spool import MailQueue
from mailroom.queue.writer import MessageWriter

__all__ = [
    "ClientInfo",
    "CommitFailed",
    "Envelope",
    "EnvelopeError",
    "EnvelopeRecipient",
    "GroupCommitter",
    "MailParams",
    "MailQueue",
    "MessageWriter",
    "QueueEntry",
    "QueueError",
    "QueueInUse",
    "RecipientResult",
    "RecipientState",
    "RetrySchedule",
    "UnknownMessage",
    "is_queue_id",
    "new_queue_id",
    "queue_id_slot",
    "read_entry",
    "read_queue",
    "use_process_slot",
]
