"""Medians over rounds, for the benchmarks' tables (imap_bench.py, pop3_bench.py)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping

Spread = tuple[float, float, float]
"""Median, min and max."""


def median_min_max(values: list[float | None]) -> Spread | None:
    """None when any round lacks the figure (a failed step): no median of a part."""
    present = [v for v in values if v is not None]
    if not present or len(present) != len(values):
        return None
    return statistics.median(present), min(present), max(present)


def summarize(
    rounds: Mapping[str, list[Mapping[str, float | None]]], keys: Iterable[str]
) -> dict[str, dict[str, Spread | None]]:
    """Per target, per figure: the spread over that target's rounds (each a mapping of
    figure to value)."""
    wanted = list(keys)
    return {
        target: {
            key: median_min_max([figures.get(key) for figures in mine]) if mine else None
            for key in wanted
        }
        for target, mine in rounds.items()
    }
