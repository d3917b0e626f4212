"""The hourly metrics history file (`mailroom.metrics.history.parse`): `metrics/hourly.json`
in the data directory, read at start-up for the dashboard's charts; a damaged or planted
file must not stop the host nor put a count anywhere but on an hour of a known name.

The input is the file's bytes. Contract: `parse` never raises; it gives counts of known
names only, at hour-aligned times, each a positive integer below `MAX_COUNT`; what
`render` writes of them reads back the same with nothing dropped. A crash: any exception
or broken invariant.
"""

from __future__ import annotations

from mailroom.metrics.history import HOUR, MAX_COUNT, NAMES, parse, render


def one_input(data: bytes) -> None:
    counts, _ = parse(data)
    for name, hours in counts.items():
        assert name in NAMES, name
        for hour, count in hours.items():
            assert hour % HOUR == 0 and hour >= 0, hour
            assert type(count) is int and 0 < count < MAX_COUNT, count
    again, problem = parse(render(counts))
    assert (again, problem) == (counts, ""), (counts, again, problem)
