"""The hourly history fed from the counters: now and then (and before the dashboard is
drawn) the app takes the host's counter totals (main process and workers, `combined`)
and records what grew since the last look. So no package counts twice, and the
history's numbers are the counters' numbers, give or take the hour a count fell in."""

from __future__ import annotations

from collections.abc import Mapping

from mailroom.metrics.combined import SampleKey
from mailroom.metrics.history import (
    BOUNCED,
    DEFERRED,
    DELIVERED,
    LOGIN_FAILED,
    LOGIN_OK,
    RECEIVED,
    HourlyHistory,
)

SUCCESS = "success"
"""The auth outcome of a login that worked (auth.AuthOutcome.SUCCESS)."""


def history_totals(samples: Mapping[SampleKey, float]) -> dict[str, float]:
    """The history's names with the counters' totals behind them."""
    totals = dict.fromkeys((RECEIVED, DELIVERED, BOUNCED, DEFERRED, LOGIN_OK, LOGIN_FAILED), 0.0)
    for (name, labels), value in samples.items():
        if name == "mailroom_messages_received_total":
            totals[RECEIVED] += value
        elif name == "mailroom_messages_delivered_total":
            totals[DELIVERED] += value
        elif name == "mailroom_messages_bounced_total":
            totals[BOUNCED] += value
        elif name == "mailroom_messages_deferred_total":
            totals[DEFERRED] += value
        elif name == "mailroom_auth_attempts_total":
            ok = dict(labels).get("outcome") == SUCCESS
            totals[LOGIN_OK if ok else LOGIN_FAILED] += value
    return totals


class HistoryFeed:
    """Records into `history` what the totals grew by since the last `observe` (or since
    the `baseline`: the totals when the host started, which earlier hosts of the same
    process, e.g. in tests, may have counted)."""

    def __init__(self, history: HourlyHistory, baseline: Mapping[SampleKey, float]) -> None:
        self.history = history
        self._last = history_totals(baseline)

    def observe(self, samples: Mapping[SampleKey, float]) -> None:
        for name, total in history_totals(samples).items():
            grown = round(total - self._last[name])
            if grown > 0:
                self.history.record(name, grown)
            self._last[name] = max(self._last[name], total)
