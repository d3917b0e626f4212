"""A queued message as the delivery side sees it, and what a delivery attempt reports."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.queue.envelope import Envelope, EnvelopeRecipient, RecipientState


@dataclass(frozen=True)
class RecipientResult:
    """What a delivery attempt says about one recipient."""

    state: RecipientState
    reply: str
    next_attempt: float | None = None
    """For a deferral, when to try again (default: from the retry schedule)."""

    @classmethod
    def delivered(cls, reply: str = "2.0.0 Ok") -> RecipientResult:
        return cls(RecipientState.DELIVERED, reply)

    @classmethod
    def deferred(cls, reply: str, next_attempt: float | None = None) -> RecipientResult:
        return cls(RecipientState.DEFERRED, reply, next_attempt)

    @classmethod
    def failed(cls, reply: str) -> RecipientResult:
        return cls(RecipientState.FAILED, reply)


@dataclass(frozen=True)
class QueueEntry:
    """One queued message as the queue knows it now."""

    queue_id: str
    envelope: Envelope
    size: int
    """Bytes of the stored message."""

    @property
    def is_done(self) -> bool:
        """Every recipient delivered or failed: nothing left to try."""
        return all(r.state.is_final for r in self.envelope.recipients)

    def unfinished(self) -> list[tuple[int, EnvelopeRecipient]]:
        """(index, recipient) of those still to be delivered; the index is what update() takes."""
        return [(i, r) for i, r in enumerate(self.envelope.recipients) if not r.state.is_final]

    @property
    def due_at(self) -> float | None:
        """When the next attempt is due; None if nothing is left to try or it is held."""
        if self.envelope.held:
            return None
        times = [
            self.envelope.received_at if r.next_attempt is None else r.next_attempt
            for _, r in self.unfinished()
        ]
        return min(times) if times else None
