"""When a deferred recipient is tried again, and when the queue gives up on a message.

Delays double from `first_delay` up to `max_delay` (5, 10, 20, 40, 80, 160
minutes, then every 4 hours), like Postfix's exponential backoff between
minimal_backoff_time and maximal_backoff_time. A message still undelivered
`max_lifetime` after it was accepted expires: its remaining recipients fail
(Postfix's maximal_queue_lifetime). The last retry is moved to the moment of
expiry, so a message is never given up without a final attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.config.model import QueueConfig


@dataclass(frozen=True)
class RetrySchedule:
    first_delay: float = 300.0
    max_delay: float = 4 * 3600.0
    max_lifetime: float = QueueConfig().max_lifetime_seconds

    @classmethod
    def from_config(cls, config: QueueConfig) -> RetrySchedule:
        return cls(max_lifetime=config.max_lifetime_seconds)

    def delay(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt (1 = the first)."""
        if attempts <= 1:
            return self.first_delay
        # Past 64 doublings the delay is capped anyway; avoid huge powers.
        return min(self.first_delay * 2.0 ** min(attempts - 1, 64), self.max_delay)

    def expires_at(self, received_at: float) -> float:
        return received_at + self.max_lifetime

    def is_expired(self, received_at: float, now: float) -> bool:
        return now >= self.expires_at(received_at)

    def next_attempt(self, attempts: int, received_at: float, now: float) -> float:
        """When to try again after `attempts` failures, never later than expiry."""
        return min(now + self.delay(attempts), max(now, self.expires_at(received_at)))
