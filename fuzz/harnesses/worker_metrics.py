"""A worker process's answer to the main process's metrics request
(`mailroom.metrics.combined.parse_samples`), as the link delivers it: the JSON of its
`samples` field. A worker is a process of the same host, but its frames are untrusted
("no part trusts another's input").

The input is the field's JSON bytes. Contract: JSON that is not a list of at most
`MAX_SAMPLES` entries raises ValueError; otherwise the samples kept are of the host's
own metric names with short printable labels and finite non-negative values, and the
host's exposition with them added still parses with prometheus-client's own parser. A
crash: any other exception or broken invariant.
"""

from __future__ import annotations

import json
import math

from prometheus_client.parser import text_string_to_metric_families

from mailroom.metrics.combined import parse_samples, render, sample_types


def one_input(data: bytes) -> None:
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        return
    try:
        samples = parse_samples(raw)
    except ValueError:
        return
    known = sample_types()
    for (name, labels), value in samples.items():
        assert name in known, name
        assert math.isfinite(value) and value >= 0, value
        assert all(text.isprintable() for _, text in labels), labels
    families = list(text_string_to_metric_families(render(samples).decode()))
    assert families
