"""SIGKILL during remote delivery: no message lost, none sent twice to a host that has
accepted it. `mailroom serve` runs as a process; the outside world (DNS, two receiving
servers) runs in the test, and one of them holds its reply until told to answer.

The dispatcher records each transaction's result durably right after the remote reply
to DATA, before it tries the next domain or even says QUIT (dispatcher.py); what is
left is the window between the 250 arriving and that record reaching the disk, which
no test can hit on purpose and which costs a duplicate, never a loss."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailroom import app
from mailroom.config import load_config
from mailroom.queue import read_queue
from tests.support.mail_host import Internet, free_loopback_port, start_internet
from tests.support.server_process import prepare_host, start_server
from tests.support.smtp_receiver import Receiver

WAIT = 60.0
"""Seconds to wait for an event in another process or thread before giving up."""


class HoldingReceiver(Receiver):
    """Keeps everything it is sent; holds its reply to DATA (or to QUIT) until `answer`
    is set, after saying that it started holding."""

    def __init__(self, *, hold: str) -> None:
        super().__init__()
        self.hold = hold
        self.holding = threading.Event()
        self.answer = threading.Event()

    async def _wait(self, command: str) -> None:
        if command == self.hold and not self.answer.is_set():
            self.holding.set()
            await asyncio.to_thread(self.answer.wait, 3 * WAIT)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await self._wait("DATA")
        return reply

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._wait("QUIT")
        return "221 2.0.0 Bye"


@dataclass
class Slow:
    """slow.example's host, reached through a transport."""

    receiver: HoldingReceiver
    port: int


@contextlib.contextmanager
def slow_host(hold: str) -> Iterator[Slow]:
    receiver = HoldingReceiver(hold=hold)
    port = free_loopback_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield Slow(receiver, port)
    finally:
        receiver.answer.set()
        controller.stop()


async def prepare(root: Path, internet: Internet, slow: Slow, targets: list[str]) -> Path:
    """A host whose both@example.test forwards to `targets`; slow.example by transport."""
    config_path, _ = await prepare_host(root, internet.settings())
    config = load_config(config_path)
    directory = await app.open_directory(config)
    await directory.set_transport("slow.example", f"[127.0.0.1]:{slow.port}")
    await directory.add_alias("both@example.test", targets)
    await directory.close()
    return config_path


async def send_to_alias(config_path: Path) -> None:
    config = load_config(config_path)
    port = next(listener.port for listener in config.listeners if listener.name == "smtp")
    await aiosmtplib.send(
        b"From: carol@outside.example\r\nSubject: once\r\n\r\nExactly once, please.\r\n",
        sender="carol@outside.example",
        recipients=["both@example.test"],
        hostname="127.0.0.1",
        port=port,
        start_tls=False,
    )


def queue_of(config_path: Path) -> Path:
    return config_path.parent / "data" / "queue"


def queue_is_empty(config_path: Path) -> Callable[[], bool]:
    return lambda: read_queue(queue_of(config_path)) == []


async def until(condition: str, check: Callable[[], bool]) -> None:
    """Wait (bounded) for a state another process or thread brings about."""
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"never happened: {condition}"
        await asyncio.sleep(0.05)


async def kill(server: asyncio.subprocess.Process) -> None:
    os.kill(server.pid, signal.SIGKILL)
    await server.wait()


async def stop(server: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        server.send_signal(signal.SIGTERM)
    await asyncio.wait_for(server.wait(), WAIT)


async def test_sigkill_while_one_host_holds_its_data_reply(tmp_path: Path) -> None:
    """outside.example has said 250 (recorded); slow.example has the message but has not
    answered when the server dies. After the restart slow.example gets it again (its
    250 never arrived: the message must not be lost) and outside.example does not."""
    async for internet in start_internet():
        with slow_host(hold="DATA") as slow:
            config = await prepare(
                tmp_path / "host", internet, slow, ["carol@outside.example", "dan@slow.example"]
            )
            server = await start_server(config)
            try:
                await send_to_alias(config)
                await until("slow.example holds DATA", slow.receiver.holding.is_set)
                # The first domain's 250 is on disk before the second domain is tried.
                assert len(internet.mx.received) == 1
                (entry,) = read_queue(queue_of(config))
                states = {r.address: r.state.value for r in entry.envelope.recipients}
                assert states == {
                    "carol@outside.example": "delivered",
                    "dan@slow.example": "pending",
                }

                await kill(server)
                slow.receiver.answer.set()  # its 250 goes to a dead connection
                server = await start_server(config)
                await until("slow.example has it again", lambda: len(slow.receiver.received) == 2)
                await until("the queue is empty", queue_is_empty(config))
            finally:
                await stop(server)
            assert len(internet.mx.received) == 1
            assert [r.rcpt_tos for r in slow.receiver.received] == [["dan@slow.example"]] * 2


async def test_sigkill_after_the_250_while_the_session_is_still_open(tmp_path: Path) -> None:
    """slow.example has said 250 and holds its reply to QUIT when the server dies: the
    result is already recorded (the message is gone from the queue), so after the
    restart nothing is sent again."""
    async for internet in start_internet():
        with slow_host(hold="QUIT") as slow:
            config = await prepare(tmp_path / "host", internet, slow, ["dan@slow.example"])
            server = await start_server(config)
            try:
                await send_to_alias(config)
                await until("slow.example holds QUIT", slow.receiver.holding.is_set)
                await until("the result is recorded", queue_is_empty(config))

                await kill(server)
                server = await start_server(config)  # returns once the queue is loaded
                assert read_queue(queue_of(config)) == []
                assert not list((queue_of(config) / "active").iterdir())
            finally:
                await stop(server)
            assert len(slow.receiver.received) == 1
