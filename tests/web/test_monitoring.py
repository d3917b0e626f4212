"""`/metrics` and `/healthz` on the real host's web listener: the exposition parses with
prometheus-client's own parser and counts exactly what a test did (a message received,
its deliveries, a bounce; IMAP logins served by worker processes); only the networks of
`[web] metrics_networks` may read it; the hourly history is on disk after a stop."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailroom.config.example import ListenerExample as Example
from mailroom.metrics.combined import samples_of
from mailroom.metrics.history import (
    BOUNCED,
    DELIVERED,
    LOGIN_FAILED,
    LOGIN_OK,
    RECEIVED,
    HourlyHistory,
)
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.processes import until
from tests.support.submission import submit
from tests.web.conftest import ADMIN_SETTINGS, WEB_LISTENERS, web_client

Labels = tuple[tuple[str, str], ...]

WORKER_LISTENERS = (*WEB_LISTENERS, Example("imaps", "imap", 0, "implicit"))
WORKERS = {"# workers = 1": "workers = 2"}


async def scrape(host: MailHost) -> dict[tuple[str, Labels], float]:
    """Every sample of `/metrics`, as Prometheus would read it."""
    async with web_client(host) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "set-cookie" not in answer.headers  # no session made for a scraper
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def grown(
    before: dict[tuple[str, Labels], float], after: dict[tuple[str, Labels], float], name: str
) -> dict[Labels, float]:
    """What each sample of `name` grew by (those that did)."""
    return {
        labels: value - before.get((sample, labels), 0.0)
        for (sample, labels), value in after.items()
        if sample == name and value != before.get((sample, labels), 0.0)
    }


async def test_metrics_count_a_message_its_deliveries_and_a_bounce(web_host: MailHost) -> None:
    before = await scrape(web_host)
    await submit(web_host, "alice@example.test", ["bob@example.test", "nobody@outside.example"])
    await web_host.running.dispatcher.settled()
    after = await scrape(web_host)
    assert grown(before, after, "mailroom_messages_received_total") == {
        (("protocol", "submission"),): 1
    }
    # bob at once; nobody@outside.example refused by its MX (550): bounced, and the
    # report of it delivered to alice.
    assert grown(before, after, "mailroom_messages_delivered_total") == {(): 2}
    assert grown(before, after, "mailroom_messages_bounced_total") == {(): 1}
    assert grown(before, after, "mailroom_messages_deferred_total") == {}
    assert grown(before, after, "mailroom_delivery_latency_seconds_count") == {(): 2}
    assert grown(before, after, "mailroom_auth_attempts_total") == {
        (("outcome", "success"), ("protocol", "submission")): 1
    }
    assert grown(before, after, "mailroom_connections_total") == {(("protocol", "submission"),): 1}
    assert after[("mailroom_queue_messages", (("state", "waiting"),))] == 0
    assert after[("mailroom_queue_oldest_seconds", ())] == 0


async def test_a_deferred_message_is_counted_and_measured_in_the_queue(web_host: MailHost) -> None:
    before = await scrape(web_host)
    # lists.example.test's transport is [127.0.0.1]:1, where nothing listens: deferred.
    await submit(web_host, "alice@example.test", ["list@lists.example.test"])
    await web_host.running.dispatcher.settled()
    after = await scrape(web_host)
    assert grown(before, after, "mailroom_messages_deferred_total") == {(): 1}
    assert grown(before, after, "mailroom_messages_delivered_total") == {}
    assert after[("mailroom_queue_messages", (("state", "deferred"),))] == 1
    assert after[("mailroom_queue_messages", (("state", "held"),))] == 0
    assert 0 < after[("mailroom_queue_oldest_seconds", ())] < 24 * 3600


def imap_login(port: int, password: str) -> None:
    client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_tls())
    try:
        client.login("bob@example.test", password)
    except imaplib.IMAP4.error:
        pass
    finally:
        client.shutdown()


def imap_samples(samples: dict[tuple[str, Labels], float]) -> dict[tuple[str, Labels], float]:
    return {key: value for key, value in samples.items() if ("protocol", "imap") in key[1]}


@pytest.fixture
async def host_with_workers(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path, {**ADMIN_SETTINGS, **WORKERS}, WORKER_LISTENERS):
        yield host


@pytest.mark.slow  # worker processes: left out of make test-fast
async def test_imap_logins_in_worker_processes_are_counted(host_with_workers: MailHost) -> None:
    host = host_with_workers
    assert host.running.workers is not None
    here = samples_of()  # this process is the host's main process
    before = await scrape(host)
    port = host.port("imaps")
    await asyncio.to_thread(imap_login, port, PASSWORD)
    await asyncio.to_thread(imap_login, port, "wrong " + PASSWORD)
    after = await scrape(host)
    assert grown(before, after, "mailroom_auth_attempts_total") == {
        (("outcome", "success"), ("protocol", "imap")): 1,
        (("outcome", "bad_password"), ("protocol", "imap")): 1,
    }
    assert grown(before, after, "mailroom_connections_total") == {(("protocol", "imap"),): 2}
    # Counted by the workers, not by the main process, which serves no IMAP session.
    imap_here = {
        key: value for key, value in samples_of().items() if ("protocol", "imap") in key[1]
    }
    assert imap_here == {
        key: value for key, value in here.items() if ("protocol", "imap") in key[1]
    }
    history = await host.running.monitoring.refresh()  # type: ignore[union-attr]
    assert history.total(LOGIN_OK) == 1
    assert history.total(LOGIN_FAILED) == 1


@pytest.mark.slow  # worker processes: left out of make test-fast
async def test_an_ended_workers_counts_stay_in_the_hosts(host_with_workers: MailHost) -> None:
    host = host_with_workers
    workers = host.running.workers
    assert workers is not None
    before = await scrape(host)
    await asyncio.to_thread(imap_login, host.port("imaps"), PASSWORD)
    assert grown(before, await scrape(host), "mailroom_auth_attempts_total") == {
        (("outcome", "success"), ("protocol", "imap")): 1
    }
    ended = set(workers.pids)
    for pid in ended:
        os.kill(pid, signal.SIGKILL)
    await until(lambda: not ended & set(workers.pids), what="the pool noticing its workers died")
    assert grown(before, await scrape(host), "mailroom_auth_attempts_total") == {
        (("outcome", "success"), ("protocol", "imap")): 1
    }


async def test_tls_handshake_failures_and_bans_are_counted(tmp_path: Path) -> None:
    strict = {"# max_failures_per_ip = 10": "max_failures_per_ip = 2"}
    async for host in start_host(tmp_path, {**ADMIN_SETTINGS, **strict}, WEB_LISTENERS):
        before = await scrape(host)
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port("smtps"))
        writer.write(b"EHLO plain.example\r\n")  # no TLS ClientHello: the handshake fails
        assert await reader.read() == b""
        writer.close()
        for _ in range(2):
            with pytest.raises(aiosmtplib.SMTPAuthenticationError):
                await submit(host, "alice@example.test", ["bob@example.test"], login="x@y.z")
        after = await scrape(host)
        assert grown(before, after, "mailroom_tls_handshake_failures_total") == {
            (("listener", "smtps"), ("mode", "implicit")): 1
        }
        assert grown(before, after, "mailroom_bans_total") == {(): 1}
        # aiosmtplib tries two mechanisms per login: two failures ban, two more are refused.
        assert grown(before, after, "mailroom_auth_attempts_total") == {
            (("outcome", "unknown_user"), ("protocol", "submission")): 2,
            (("outcome", "throttled"), ("protocol", "submission")): 2,
        }


async def test_healthz_names_what_fails(web_host: MailHost) -> None:
    delivering = web_host.running._delivering  # the dispatcher's task, stopped here
    assert delivering is not None
    delivering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await delivering
    async with web_client(web_host) as client:
        answer = await client.get("/healthz")
    assert answer.status_code == 503
    assert answer.text == "failing: delivery stopped\n"


async def test_metrics_are_refused_outside_metrics_networks(tmp_path: Path) -> None:
    elsewhere = {
        '# metrics_networks = ["127.0.0.0/8", "::1/128"]': 'metrics_networks = ["192.0.2.0/24"]'
    }
    async for host in start_host(tmp_path, {**ADMIN_SETTINGS, **elsewhere}, WEB_LISTENERS):
        async with web_client(host) as client:
            refused = await client.get("/metrics")
            health = await client.get("/healthz")
        assert refused.status_code == 403
        assert "metrics_networks" in refused.text
        assert "mailroom_" not in refused.text
        assert health.status_code == 200


async def test_healthz_says_ok_without_a_session(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.text == "ok\n"
    assert "set-cookie" not in answer.headers


async def test_the_hourly_history_is_on_disk_after_a_stop(tmp_path: Path) -> None:
    async for host in start_host(tmp_path, ADMIN_SETTINGS, WEB_LISTENERS):
        await submit(host, "alice@example.test", ["bob@example.test", "nobody@outside.example"])
        await host.running.dispatcher.settled()
        monitoring = host.running.monitoring
        assert monitoring is not None
        path = monitoring.history.path
    assert path is not None
    history = HourlyHistory.load(path)
    assert (history.total(RECEIVED), history.total(DELIVERED), history.total(BOUNCED)) == (1, 2, 1)
    assert history.total(LOGIN_OK) == 1
