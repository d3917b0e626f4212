"""The dashboard's pictures as geometry: lines, stacked bars and meters in SVG user
units, computed here from plain numbers and drawn by the template
(`dashboard_charts.html`), where every label is escaped by Jinja. No JavaScript and
nothing fetched from elsewhere: a chart is a few dozen SVG elements in the page.

Pure: numbers in, coordinates out, so the scaling is tested without a browser."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 480
HEIGHT = 170
LEFT = 40
RIGHT = 20
TOP = 10
BOTTOM = 22


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    """A class of the stylesheet giving its colour (`s-in`, `s-out`, ...)."""
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Line:
    series: Series
    points: str
    """`x,y x,y ...` for a polyline."""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str
    """Shown when the pointer rests on it (an SVG <title>)."""


@dataclass(frozen=True)
class Chart:
    """A plot area with its axes; `lines` or `rects` inside it."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    lines: tuple[Line, ...] = ()
    rects: tuple[Rect, ...] = ()

    @property
    def empty(self) -> bool:
        return all(series.total == 0 for series in self.series)


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 x 10^k at or above `value` (at least 1): a round top for
    the y axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def _frame(top_value: int) -> tuple[float, float, float, float, tuple[Tick, ...]]:
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    ticks = tuple(
        Tick(bottom - (bottom - top) * share, _count(round(top_value * share)))
        for share in (0, 0.5, 1)
        if share == 0 or round(top_value * share) == top_value * share
    )
    return left, top, right, bottom, ticks


def _count(value: int) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return str(value)


def line_chart(series: list[Series], labels: list[str], label_every: int = 6) -> Chart:
    """One polyline per series over the same x positions (`labels`, e.g. hours)."""
    count = max(len(labels), 1)
    top_value = nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    left, top, right, bottom, y_ticks = _frame(top_value)
    step = (right - left) / max(count - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - top) * value / top_value, 1)

    lines = tuple(
        Line(s, " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s.values))) for s in series
    )
    x_ticks = tuple(
        Tick(x(i), label) for i, label in enumerate(labels) if (count - 1 - i) % label_every == 0
    )
    return Chart(
        WIDTH, HEIGHT, left, top, right, bottom, y_ticks, x_ticks, tuple(series), lines=lines
    )


def stacked_bars(
    series: list[Series], labels: list[str], label_every: int = 1, unit: str = ""
) -> Chart:
    """One bar per label, the series stacked in their order (first at the bottom)."""
    count = max(len(labels), 1)
    sums = [sum(s.values[i] for s in series if i < len(s.values)) for i in range(count)]
    top_value = nice_ceiling(max(sums, default=0))
    left, top, right, bottom, y_ticks = _frame(top_value)
    slot = (right - left) / count
    width = max(slot * 0.7, 1.0)
    rects = []
    for i in range(count):
        base = bottom
        for s in series:
            value = s.values[i] if i < len(s.values) else 0
            if value <= 0:
                continue
            height = (bottom - top) * value / top_value
            base -= height
            rects.append(
                Rect(
                    round(left + i * slot + (slot - width) / 2, 1),
                    round(base, 1),
                    round(width, 1),
                    round(height, 1),
                    s.css,
                    f"{labels[i]}: {value} {s.name}{unit}",
                )
            )
    x_ticks = tuple(
        Tick(round(left + i * slot + slot / 2, 1), label)
        for i, label in enumerate(labels)
        if (count - 1 - i) % label_every == 0
    )
    return Chart(
        WIDTH, HEIGHT, left, top, right, bottom, y_ticks, x_ticks, tuple(series), rects=tuple(rects)
    )


class Level:
    GOOD = "good"
    WARN = "warn"
    BAD = "bad"


@dataclass(frozen=True)
class Meter:
    """A horizontal bar: `fraction` of it filled, coloured by `level`."""

    label: str
    fraction: float
    text: str
    level: str

    @property
    def percent(self) -> float:
        return round(max(0.0, min(self.fraction, 1.0)) * 100, 1)
