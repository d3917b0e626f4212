"""The hourly history: counts per hour, 48 hours kept, saved atomically, read back
after a restart, and a hostile file never trusted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.metrics.history import (
    BOUNCED,
    DELIVERED,
    HOUR,
    KEEP_HOURS,
    LOGIN_FAILED,
    NAMES,
    RECEIVED,
    HourlyHistory,
    parse,
)

START = 1_796_000_400  # an hour start (2026-11-30 01:00 UTC)


class Clock:
    def __init__(self, now: float = START + 120) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_record_counts_in_the_current_hour_and_series_is_oldest_first() -> None:
    clock = Clock()
    history = HourlyHistory(clock=clock)
    history.record(RECEIVED)
    history.record(RECEIVED, 2)
    clock.now += HOUR
    history.record(RECEIVED)
    series = history.series(RECEIVED, 3)
    assert series == [
        (datetime.fromtimestamp(START - HOUR, UTC), 0),
        (datetime.fromtimestamp(START, UTC), 3),
        (datetime.fromtimestamp(START + HOUR, UTC), 1),
    ]
    assert history.total(RECEIVED) == 4
    assert history.total(DELIVERED) == 0


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metrics history name"):
        HourlyHistory().record("sent")


def test_only_the_last_48_hours_are_kept() -> None:
    clock = Clock()
    history = HourlyHistory(clock=clock)
    for _ in range(KEEP_HOURS + 10):
        history.record(BOUNCED)
        clock.now += HOUR
    clock.now -= HOUR
    assert len(history.series(BOUNCED, 1000)) == KEEP_HOURS
    assert history.total(BOUNCED, KEEP_HOURS) == KEEP_HOURS


def test_the_history_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "metrics" / "hourly.json"
    history = HourlyHistory.load(path, clock=clock)
    history.record(DELIVERED, 5)
    history.record(LOGIN_FAILED)
    history.save()
    again = HourlyHistory.load(path, clock=clock)
    assert again.series(DELIVERED, 1) == [(datetime.fromtimestamp(START, UTC), 5)]
    assert again.total(LOGIN_FAILED) == 1
    assert [p.name for p in path.parent.iterdir()] == ["hourly.json"]  # no temporary left


def test_hours_too_old_are_dropped_when_read_back(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "hourly.json"
    history = HourlyHistory.load(path, clock=clock)
    history.record(RECEIVED, 7)
    history.save()
    clock.now += KEEP_HOURS * HOUR
    assert HourlyHistory.load(path, clock=clock).total(RECEIVED, KEEP_HOURS) == 0


def test_a_broken_file_starts_empty_and_names_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hourly.json"
    path.write_bytes(b'{"format": 1, "counts": {"received": {"3600": "many"')
    history = HourlyHistory.load(path, clock=Clock())
    assert history.total(RECEIVED) == 0
    assert str(path) in caplog.text


def test_bad_entries_are_dropped_one_by_one() -> None:
    good = str(START)
    data = {
        "format": 1,
        "counts": {
            "received": {good: 4, str(START + 1): 3, "-3600": 1, good + "x": 2},
            "delivered": {good: True, str(START - HOUR): -1},
            "stolen": {good: 1},
        },
    }
    counts, problem = parse(json.dumps(data).encode())
    assert counts == {"received": {START: 4}, "delivered": {}}
    assert problem == "6 bad entries dropped"


@given(st.binary(max_size=2000))
def test_parse_never_raises_on_hostile_bytes(data: bytes) -> None:
    counts, _ = parse(data)
    assert set(counts) <= set(NAMES)


json_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


@given(
    st.dictionaries(
        st.sampled_from([*NAMES, "other"]),
        st.dictionaries(st.text(max_size=14) | st.integers().map(str), json_values, max_size=6),
        max_size=4,
    )
)
def test_parse_keeps_only_valid_counts_of_any_shaped_json(raw: dict[str, object]) -> None:
    counts, _ = parse(json.dumps({"format": 1, "counts": raw}).encode())
    for name, hours in counts.items():
        assert name in NAMES
        for hour, count in hours.items():
            assert hour % HOUR == 0
            assert count > 0 and type(count) is int
