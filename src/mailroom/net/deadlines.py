"""How slowly a client may send: the deadlines of a command line and the minimum data
rate of a message or literal (config `[limits]`), and the timeouts sessions answer with
their protocol's goodbye. Kept apart from the connection that enforces them."""

from __future__ import annotations

from dataclasses import dataclass


class IdleTimeout(Exception):
    """The client sent nothing for the listener's idle timeout (or, as the subclasses
    say, too slowly): sessions answer it with their protocol's goodbye."""


class LineTimeout(IdleTimeout):
    """A command line was not complete within `Deadlines.command_line_seconds` of its
    first byte (a slowloris client sending a byte now and then)."""


class TooSlow(IdleTimeout):
    """A message or literal came slower than `Deadlines.min_data_rate`."""


@dataclass(frozen=True)
class Deadlines:
    """How slowly a client may send (config `[limits]`, Postfix 3.7's per-request
    deadline and smtpd_min_data_rate)."""

    command_line_seconds: float = 60.0
    min_data_rate: int = 500
    """Bytes per second on average, after the grace; 0: no minimum."""
    data_rate_grace_seconds: float = 30.0


class RateGuard:
    """A minimum average rate from `started` on: by now, `min_rate` bytes per second
    beyond the grace must have come (received bytes buy time, as Postfix's
    smtpd_min_data_rate extends its deadline)."""

    def __init__(self, started: float, received: int, deadlines: Deadlines) -> None:
        self.started = started
        self.received_before = received
        self.deadlines = deadlines

    def deadline(self, received: int) -> float:
        """When the client falls behind unless more arrives."""
        rate = self.deadlines.min_data_rate
        bought = (received - self.received_before) / rate if rate else float("inf")
        return self.started + self.deadlines.data_rate_grace_seconds + bought
