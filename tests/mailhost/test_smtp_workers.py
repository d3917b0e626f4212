"""`[server] workers = 2` with SMTP: the workers serve port 25, deliver to local
accounts at once themselves and commit what must wait (here: outside.example's
recipients, through the alias press@example.test) into the host's one queue, whose
owner (the main process) adopts and delivers it. Nothing lost, nothing twice, also
when a worker is SIGKILLed right after its 250. Which process served a connection is
read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom.config.example import ListenerExample
from mailroom.queue import queue_id_slot, read_queue
from tests.support.mail_host import Internet, start_internet
from tests.support.processes import children_of, holder, until
from tests.support.server_process import prepare_host_ports, start_server
from tests.support.smtp_talk import Talk

LISTENERS = (ListenerExample("smtp", "smtp", 0, "none"),)
MESSAGES = 16
"""At once, from one address: under the per-address connection cap (20)."""


@dataclass
class Host:
    process: asyncio.subprocess.Process
    config: Path
    port: int
    internet: Internet

    @property
    def workers(self) -> set[int]:
        return children_of(self.process.pid)

    @property
    def queue(self) -> Path:
        return self.config.parent / "data" / "queue"

    def maildir(self, local: str) -> Path:
        return self.config.parent / "data" / "mail" / "example.test" / local / "Maildir"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async for internet in start_internet():
        settings = {"# workers = 1": "workers = 2", **internet.settings()}
        config, ports = await prepare_host_ports(tmp_path / "host", settings, LISTENERS)
        process = await start_server(config)
        try:
            await until(two_workers(process.pid), what="two workers")
            yield Host(process, config, ports["smtp"], internet)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            await process.wait()


def two_workers(pid: int) -> Callable[[], bool]:
    return lambda: len(children_of(pid)) == 2


async def send(host: Host, recipients: list[str], token: str) -> tuple[str, int | None]:
    """One message on its own connection: the queue id its 250 names, and the process
    that served it."""
    talk = await Talk.open(host.port)
    served = holder(host.port, talk.writer.get_extra_info("sockname")[1], host.workers)
    return await talk.send_message(recipients, token), served


def subjects(maildir: Path) -> list[str]:
    found = []
    for sub in ("new", "cur"):
        for path in (maildir / sub).iterdir():
            match = re.search(rb"Subject: (\S+)", path.read_bytes())
            assert match, path
            found.append(match.group(1).decode())
    return sorted(found)


def received_subjects(internet: Internet) -> list[str]:
    found = []
    for message in internet.mx.received:
        match = re.search(rb"Subject: (\S+)", message.content)
        assert match
        found.append(match.group(1).decode())
    return sorted(found)


async def test_both_workers_deliver_and_queue_nothing_lost_nothing_twice(host: Host) -> None:
    """Messages on many connections, half for alice only (delivered at once by the
    worker) and half for press@example.test (alice's copy at once, press@outside.example's
    committed by the worker and delivered by the main process): both workers serve,
    every id is a worker's, and each message arrives exactly once where it should."""
    local = [f"local{n}" for n in range(MESSAGES // 2)]
    mixed = [f"mixed{n}" for n in range(MESSAGES // 2)]
    sent = await asyncio.gather(
        *(send(host, ["alice@example.test"], token) for token in local),
        *(send(host, ["press@example.test"], token) for token in mixed),
    )
    served = {pid for _, pid in sent}
    assert served == host.workers, f"served by {served}, workers {host.workers}"
    ids = [queue_id for queue_id, _ in sent]
    assert len(set(ids)) == MESSAGES
    assert all(queue_id_slot(queue_id) in (1, 2) for queue_id in ids)

    await until(lambda: len(host.internet.mx.received) >= len(mixed), 60, "outside.example has all")
    await until(lambda: read_queue(host.queue) == [], 60, "the queue empty")
    assert subjects(host.maildir("alice")) == sorted(local + mixed)
    assert received_subjects(host.internet) == sorted(mixed)
    assert all(m.rcpt_tos == ["press@outside.example"] for m in host.internet.mx.received)


async def test_a_worker_killed_right_after_its_250_loses_nothing(host: Host) -> None:
    """press@outside.example's copy is in the queue when the worker that said 250 is
    SIGKILLed at once: the main process still delivers it, once; the worker is started
    again and serves."""
    queue_id, worker = await send(host, ["press@example.test"], "killed")
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    assert queue_id_slot(queue_id) in (1, 2)
    await until(lambda: len(host.internet.mx.received) == 1, 60, "outside.example has it")
    await until(lambda: read_queue(host.queue) == [], 60, "the queue empty")
    await until(lambda: len(host.workers) == 2 and worker not in host.workers, 60, "a worker again")
    await send(host, ["press@example.test"], "after")
    await until(lambda: len(host.internet.mx.received) == 2, 60, "the second one")
    assert received_subjects(host.internet) == ["after", "killed"]
