"""Medians over rounds, for the benchmarks' tables (imap_bench.py, pop3_bench.py)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping

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


def table_rows(
    rows: Iterable[tuple[str, str]],
    summary: Mapping[str, Mapping[str, Spread | None]],
    names: list[str],
    widths: tuple[int, int, int],
    number: Callable[[float], str],
) -> list[str]:
    """One line per (figure key, label): the label, each target's median (min–max), and
    with two targets the ratio first/second of the medians. `widths`: the label's
    column, each target's, the ratio's."""
    label_width, column, ratio_width = widths

    def cell(spread: Spread | None) -> str:
        if spread is None:
            return "—"
        median, low, high = spread
        return f"{number(median)} ({number(low)}–{number(high)})"

    lines = []
    for key, label in rows:
        line = f"{label:<{label_width}}" + "".join(
            f"{cell(summary[name][key]):>{column}}" for name in names
        )
        if len(names) >= 2:
            a, b = summary[names[0]][key], summary[names[1]][key]
            ratio = "—" if a is None or b is None or b[0] == 0 else f"{a[0] / b[0]:.2f}×"
            line += f"{ratio:>{ratio_width}}"
        lines.append(line)
    return lines
