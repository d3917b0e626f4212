"""The whole host's exposition: a worker's samples (untrusted) added to the main
process's, an ended worker's counters kept and its gauges dropped, and the result still
what Prometheus' parser reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from mailroom.metrics.combined import (
    MAX_SAMPLES,
    WorkerTotals,
    encode_samples,
    parse_samples,
    render,
    sample_types,
    samples_of,
)
from mailroom.metrics.history import DELIVERED, LOGIN_FAILED, LOGIN_OK, HourlyHistory
from mailroom.metrics.history_feed import HistoryFeed


def registry() -> tuple[CollectorRegistry, Counter, Gauge, Histogram]:
    """A registry shaped like the host's: a labelled counter, a gauge, a histogram."""
    registry = CollectorRegistry()
    logins = Counter("t_logins", "Logins.", ["protocol", "outcome"], registry=registry)
    sessions = Gauge("t_sessions", "Sessions open.", ["protocol"], registry=registry)
    latency = Histogram("t_latency_seconds", "Latency.", buckets=(1, 10), registry=registry)
    return registry, logins, sessions, latency


def parsed(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_a_workers_samples_are_added_to_the_main_process() -> None:
    main, logins, _, latency = registry()
    logins.labels("smtp", "success").inc(2)
    latency.observe(0.5)
    worker, w_logins, w_sessions, _ = registry()
    w_logins.labels("imap", "success").inc(3)
    w_logins.labels("smtp", "success").inc(1)
    w_sessions.labels("imap").set(4)
    totals = WorkerTotals(main)
    frame = json.loads(json.dumps(encode_samples(samples_of(worker))))  # as the link carries it
    totals.update(101, parse_samples(frame, main))
    text = parsed(render(totals.totals(), main))
    assert text[("t_logins_total", (("outcome", "success"), ("protocol", "smtp")))] == 3
    assert text[("t_logins_total", (("outcome", "success"), ("protocol", "imap")))] == 3
    assert text[("t_sessions", (("protocol", "imap"),))] == 4
    assert text[("t_latency_seconds_count", ())] == 1


def test_an_ended_workers_counters_stay_and_its_gauges_go() -> None:
    main, *_ = registry()
    worker, w_logins, w_sessions, _ = registry()
    w_logins.labels("imap", "success").inc(5)
    w_sessions.labels("imap").set(2)
    totals = WorkerTotals(main)
    totals.update(7, samples_of(worker))
    totals.retire(7)
    totals.update(8, {})  # its successor starts from zero
    assert totals.totals() == {
        ("t_logins_total", (("outcome", "success"), ("protocol", "imap"))): 5
    }


def test_samples_of_names_no_created_and_no_zeros() -> None:
    main, logins, _, _ = registry()
    logins.labels("pop3", "bad_password")
    assert samples_of(main) == {}
    assert set(sample_types(main)) == {
        "t_logins_total",
        "t_sessions",
        "t_latency_seconds_bucket",
        "t_latency_seconds_sum",
        "t_latency_seconds_count",
    }


def test_a_workers_bad_samples_are_dropped() -> None:
    main, *_ = registry()
    raw = [
        ["t_logins_total", {"protocol": "imap", "outcome": "success"}, 1],
        ["t_unknown_total", {}, 1],
        ["t_logins_total", {"protocol": "imap"}, -1],
        ["t_logins_total", {"protocol": "imap"}, float("nan")],
        ["t_logins_total", {"protocol": "imap"}, True],
        ["t_logins_total", {"protocol": "imap"}, 10**400],
        ["t_logins_total", {"bad label": "x"}, 1],
        ["t_logins_total", {"protocol": "a\nb"}, 1],
        ["t_logins_total", {"protocol": "x" * 101}, 1],
        "t_sessions",
    ]
    assert parse_samples(raw, main) == {
        ("t_logins_total", (("outcome", "success"), ("protocol", "imap"))): 1.0
    }


def test_too_many_samples_are_refused() -> None:
    main, *_ = registry()
    raw = [["t_sessions", {"protocol": str(n)}, 1] for n in range(MAX_SAMPLES + 1)]
    with pytest.raises(ValueError, match="not a list of samples"):
        parse_samples(raw, main)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**1024)
    | st.floats()
    | st.text(max_size=12)
)
hostile_samples = st.lists(
    st.lists(
        st.sampled_from(["t_logins_total", "t_sessions", "t_latency_seconds_bucket"])
        | json_scalars,
        max_size=4,
    )
    | st.tuples(
        st.sampled_from(["t_logins_total", "t_sessions", "t_latency_seconds_bucket"]),
        st.dictionaries(st.text(max_size=8), json_scalars, max_size=3),
        json_scalars,
    ).map(list)
    | json_scalars,
    max_size=20,
)


@given(hostile_samples | json_scalars)
def test_any_worker_answer_renders_an_exposition_that_parses(raw: object) -> None:
    main, logins, _, latency = registry()
    logins.labels("smtp", "success").inc()
    latency.observe(3)
    totals = WorkerTotals(main)
    try:
        totals.update(1, parse_samples(raw, main))
    except ValueError:
        return
    text = parsed(render(totals.totals(), main))
    assert all(value >= 0 for value in text.values())


def test_the_history_records_what_the_counters_grew_by() -> None:
    history = HourlyHistory()
    feed = HistoryFeed(
        history,
        {("mailroom_messages_delivered_total", ()): 5.0},  # counted before this host
    )
    feed.observe(
        {
            ("mailroom_messages_delivered_total", ()): 7.0,
            ("mailroom_auth_attempts_total", (("outcome", "success"), ("protocol", "imap"))): 2,
            ("mailroom_auth_attempts_total", (("outcome", "throttled"), ("protocol", "imap"))): 1,
        }
    )
    feed.observe({("mailroom_messages_delivered_total", ()): 7.0})  # a worker not answering
    assert (history.total(DELIVERED), history.total(LOGIN_OK), history.total(LOGIN_FAILED)) == (
        2,
        2,
        1,
    )
