"""The whole host's metrics: the main process's registry plus what its worker processes
counted, rendered as one Prometheus text exposition.

Why over the worker's link and not prometheus-client's multiprocess mode: that mode is
chosen by an environment variable read when prometheus_client is first imported, in
every process (the test process that runs a host too), changes every registry of the
process, and needs a directory of mmap files cleaned up after each dead worker. The
link is there already and answers requests; the main process asks each worker for its
samples when it renders (so a scrape right after an IMAP login counts it), and now and
then for the hourly history.

A worker's samples are untrusted input ("no part trusts another's input"): only sample
names of this registry's own metrics, with few short labels and finite non-negative
values, are taken (`parse_samples`). When a worker ends, its counters' last values are
kept (`WorkerTotals.retire`), so the host's counters never go down when a worker is
restarted; what it counted after the last request is lost (a crash is rare, and the
periodic request bounds it). Its gauges (sessions open) end with it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from mailroom.metrics.registry import REGISTRY

SampleKey = tuple[str, tuple[tuple[str, str], ...]]
"""(sample name, sorted (label, value) pairs)."""
Samples = dict[SampleKey, float]

MAX_SAMPLES = 400
"""Samples in one worker's answer at most (a worker has well under a hundred; 400 fit in
one link frame)."""
MAX_LABELS = 8
MAX_LABEL_TEXT = 100
SUMMABLE = frozenset({"counter", "histogram"})
"""Family types whose samples outlive a worker (its gauges end with it)."""
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def sample_types(registry: CollectorRegistry = REGISTRY) -> dict[str, str]:
    """Each sample name the registry's metrics write, with its family's type (the
    `_created` samples left out: they are per process)."""
    types = {}
    for family in registry.collect():
        for suffix in SUFFIXES.get(family.type, ()):
            types[family.name + suffix] = family.type
    return types


def samples_of(registry: CollectorRegistry = REGISTRY) -> Samples:
    """The registry's samples now, without `_created` and without zeros."""
    known = sample_types(registry)
    samples: Samples = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name in known and sample.value:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def encode_samples(samples: Samples) -> list[list[object]]:
    """For a link frame: [[name, {label: value}, value], ...], at most MAX_SAMPLES."""
    return [
        [name, dict(labels), value] for (name, labels), value in list(samples.items())[:MAX_SAMPLES]
    ]


def parse_samples(raw: object, registry: CollectorRegistry = REGISTRY) -> Samples:
    """The samples of a worker's answer. Bad entries are dropped; ValueError if `raw`
    is not a list of at most MAX_SAMPLES entries."""
    if not isinstance(raw, list) or len(raw) > MAX_SAMPLES:
        raise ValueError("a worker's metrics are not a list of samples")
    known = sample_types(registry)
    samples: Samples = {}
    for entry in raw:
        parsed = _sample(entry, known)
        if parsed is not None:
            samples[parsed[0]] = parsed[1]
    return samples


def _sample(entry: object, known: Mapping[str, str]) -> tuple[SampleKey, float] | None:
    if not isinstance(entry, list) or len(entry) != 3:
        return None
    name, labels, value = entry
    if not isinstance(name, str) or name not in known:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS:
        return None
    pairs = []
    for label, text in labels.items():
        if not isinstance(text, str) or not _label_ok(label, text):
            return None
        pairs.append((label, text))
    return (name, tuple(sorted(pairs))), number


def _label_ok(label: str, text: str) -> bool:
    return (
        0 < len(label) <= MAX_LABEL_TEXT
        and label.isascii()
        and (label.replace("_", "a").isalnum())
        and not label[0].isdigit()
        and len(text) <= MAX_LABEL_TEXT
        and text.isprintable()
    )


class WorkerTotals:
    """The main process's record of its workers' samples: the last answer of each live
    worker (by a key naming that process, e.g. its pid) and the counters of ended ones."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._types = sample_types(registry)
        self._live: dict[Hashable, Samples] = {}
        self._retired: Samples = {}

    def update(self, worker: Hashable, samples: Samples) -> None:
        self._live[worker] = samples

    def retire(self, worker: Hashable) -> None:
        """The worker ended: keep its counters, forget its gauges."""
        for key, value in self._live.pop(worker, {}).items():
            if self._types.get(key[0]) in SUMMABLE:
                self._retired[key] = self._retired.get(key, 0.0) + value

    def totals(self) -> Samples:
        return add(self._retired, *self._live.values())


def add(*sample_sets: Mapping[SampleKey, float]) -> Samples:
    total: Samples = {}
    for samples in sample_sets:
        for key, value in samples.items():
            total[key] = total.get(key, 0.0) + value
    return total


class _Combined:
    """A collector: the registry's families with `extra` added sample by sample."""

    def __init__(self, registry: CollectorRegistry, extra: Mapping[SampleKey, float]) -> None:
        self._registry = registry
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        extra = dict(self._extra)
        for family in self._registry.collect():
            combined = Metric(family.name, family.documentation, family.type, family.unit)
            names = {family.name + suffix for suffix in SUFFIXES.get(family.type, ())}
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                combined.add_sample(sample.name, sample.labels, sample.value + extra.pop(key, 0.0))
            for (name, labels), value in _in_order([k for k in extra if k[0] in names], extra):
                combined.add_sample(name, dict(labels), value)
            yield combined


def _in_order(
    keys: Iterable[SampleKey], values: Mapping[SampleKey, float]
) -> list[tuple[SampleKey, float]]:
    """A histogram's samples grouped by labels, buckets by bound, as the format wants."""

    def order(key: SampleKey) -> tuple[object, ...]:
        name, labels = key
        others = tuple(pair for pair in labels if pair[0] != "le")
        bound = dict(labels).get("le", "")
        try:
            number = float(bound) if bound else 0.0
        except ValueError:
            number = 0.0
        return (others, not name.endswith("_bucket"), name, number)

    return [(key, values[key]) for key in sorted(keys, key=order)]


def render(
    extra: Mapping[SampleKey, float] | None = None, registry: CollectorRegistry = REGISTRY
) -> bytes:
    """The text exposition of `registry` with `extra` (the workers' totals) added."""
    return generate_latest(_Combined(registry, extra or {}))


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The exposition's media type (what prometheus-client's own server answers)."""
