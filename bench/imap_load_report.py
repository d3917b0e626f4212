"""Figures of the IMAP load benchmark (imap_load.py): per run, per command label, the
commands per second and latency percentiles; over rounds, the medians; between two
targets, the ratio. Plain functions over plain data, so --json holds the same numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

from imap_load_check import Errors
from imap_load_mix import START, RunStats

LABELS = (
    "CONNECT (start)",
    "LOGIN (start)",
    "CAPABILITY (start)",
    "CONNECT",
    "LOGIN",
    "CAPABILITY",
    "LIST",
    "STATUS",
    "SELECT",
    "EXAMINE",
    "FETCH flags",
    "FETCH envelope",
    "FETCH BODY.PEEK[]",
    "FETCH BODY[TEXT]",
    "STORE",
    "STORE \\Deleted",
    "EXPUNGE",
    "NOOP",
    "UID SEARCH",
    "APPEND small",
    "APPEND medium",
    "IDLE",
    "IDLE wake-up",
    "DONE",
    "LOGOUT",
)
ALL = "all commands"
FIGURES = ("per_s", "p50", "p90", "p99", "max")


@dataclass
class RunResult:
    """One target, one client count, one round."""

    target: str
    clients: int
    round: int
    seconds: float
    commands: dict[str, dict[str, float]] = field(default_factory=dict)
    """label → count, per_s, p50, p90, p99, max (ms), errors."""
    errors: dict[str, int] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)
    samples: dict[str, list[str]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    overrun: float = 0.0
    """Seconds past the deadline until the last client had its answer and logged out."""

    @property
    def failures(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind not in self.allowed)


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(len(ordered), rank) - 1]


def figures(values: list[float], in_time: int, seconds: float, errors: int) -> dict[str, float]:
    """Latencies over every command; the rate over those answered within ``seconds``."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "per_s": 0.0, "errors": errors}
    return {
        "count": len(ordered),
        "per_s": in_time / seconds,
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
        "errors": errors,
    }


def run_result(
    target: str,
    clients: int,
    round_no: int,
    times: tuple[float, float],
    stats: RunStats,
    errors: Errors,
) -> RunResult:
    """``times``: the run's duration, and how long after it the last client ended."""
    seconds, overrun = times
    commands = {
        label: figures(values, stats.in_time[label], seconds, stats.label_errors[label])
        for label, values in stats.latencies.items()
    }
    timed = [label for label in stats.latencies if label != "IDLE wake-up" and START not in label]
    everything = [v for label in timed for v in stats.latencies[label]]
    errors_in_run = sum(n for label, n in stats.label_errors.items() if START not in label)
    in_time = sum(stats.in_time[label] for label in timed)
    commands[ALL] = figures(everything, in_time, seconds, errors_in_run)
    return RunResult(
        target=target,
        clients=clients,
        round=round_no,
        seconds=seconds,
        commands=commands,
        errors=dict(errors.counts),
        allowed=sorted(errors.allowed),
        samples=errors.samples,
        counters=dict(stats.counters),
        overrun=overrun,
    )


def print_run(result: RunResult) -> None:
    total = result.commands.get(ALL, {})
    print(
        f"  {result.target}: {total.get('count', 0):.0f} commands, "
        f"{total.get('per_s', 0):.0f}/s answered in {result.seconds:.0f} s (the last ended "
        f"{result.overrun:.1f} s later), p99 {total.get('p99', 0):.1f} ms, "
        f"{result.failures} error(s)",
        flush=True,
    )
    for kind, count in sorted(result.errors.items()):
        note = " (allowed under concurrency, not an error)" if kind in result.allowed else ""
        print(f"    {count} × {kind}{note}: {' | '.join(result.samples.get(kind, []))[:400]}")
    for name, count in sorted(result.counters.items()):
        print(f"    {count} × {name}")


def medians(results: list[RunResult]) -> dict[str, dict[str, float]]:
    """Per label: the median of each figure over the rounds; errors are summed."""
    out: dict[str, dict[str, float]] = {}
    for label in [*LABELS, ALL]:
        rows = [r.commands.get(label) for r in results]
        present = [row for row in rows if row]
        if not present:
            continue
        merged: dict[str, float] = {  # a round without the command ran it 0 times a second
            "per_s": statistics.median([row["per_s"] if row else 0.0 for row in rows]),
            "errors": sum(row["errors"] for row in present),
            "count": statistics.median([row["count"] if row else 0 for row in rows]),
        }
        for key in FIGURES[1:]:
            values = [row[key] for row in present if key in row]
            if values:
                merged[key] = statistics.median(values)
        out[label] = merged
    return out


def cell(label: str, row: Mapping[str, float] | None) -> str:
    """One target's columns; a "(start)" row shows how many, not a rate: each client
    logs in once before the clock starts."""
    if not row:
        return " — | — | — | — | — |"
    rate = f"{row['count']:.0f} in all" if START in label else f"{row['per_s']:.1f}"
    if "p50" not in row:
        return f" {rate} | — | — | — | {row['errors']:.0f} |"
    return (
        f" {rate} | {row['p50']:.1f} | {row['p99']:.1f} | {row['max']:.0f} | {row['errors']:.0f} |"
    )


def print_table(title: str, summary: Mapping[str, Mapping[str, Mapping[str, float]]]) -> None:
    """A Markdown table: per label and target, commands/s, p50, p99, max (ms), errors;
    with two targets the ratios first/second of commands/s (above 1: the first is
    faster) and of p99 (below 1: the first is faster)."""
    names = list(summary)
    print(f"\n{title}\n")
    head = "| command |" + "".join(f" {n} /s | p50 ms | p99 ms | max ms | err |" for n in names)
    rule = "| --- |" + " ---: | ---: | ---: | ---: | ---: |" * len(names)
    if len(names) == 2:
        head += f" /s {names[0]}/{names[1]} | p99 {names[0]}/{names[1]} |"
        rule += " ---: | ---: |"
    print(head)
    print(rule)
    for label in [*LABELS, ALL]:
        rows = [summary[n].get(label) for n in names]
        if not any(rows):
            continue
        line = f"| {label} |" + "".join(cell(label, row) for row in rows)
        if len(names) == 2:
            a, b = rows
            rate = "—"
            if a and b and b["per_s"] and START not in label:
                rate = f"{a['per_s'] / b['per_s']:.2f}×"
            p99 = (
                f"{a['p99'] / b['p99']:.2f}×" if a and b and a.get("p99") and b.get("p99") else "—"
            )
            line += f" {rate} | {p99} |"
        print(line)


SERVER_CPU = "server CPU ms (its process tree)"
CLIENT_CPU = "client CPU ms (this benchmark's own)"


def print_cpu(
    summary: Mapping[str, Mapping[str, Mapping[str, float]]], runs: list[RunResult]
) -> None:
    """CPU per command, median over the rounds: what each answer cost the server (all
    its processes; LOGIN's argon2id included) and this benchmark, whatever else the
    machine was doing."""
    for name in summary:
        mine = [r for r in runs if r.target == name]
        per_command = {
            label: [
                r.counters[key] / r.commands[ALL]["count"]
                for r in mine
                if key in r.counters and r.commands.get(ALL, {}).get("count")
            ]
            for label, key in (("server", SERVER_CPU), ("client", CLIENT_CPU))
        }
        figures = ", ".join(
            f"{label} {statistics.median(values):.2f}"
            for label, values in per_command.items()
            if values
        )
        print(f"CPU ms per command, {name}: {figures or 'not measured'}")
