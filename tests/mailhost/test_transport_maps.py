"""`[routing] transport_maps`: a Postfix transport(5) file sends a domain's mail to a
next hop (here a loopback SMTP peer) instead of its MX hosts, and a SIGHUP makes a
changed file take effect for mail already queued and mail to come."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import smtplib
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.support.mail_host import free_loopback_port, start_host, start_internet
from tests.support.server_process import logged, prepare_host, start_server
from tests.support.smtp_receiver import Receiver

TRANSPORT_MAPS = {
    '# transport_maps = ["/etc/mailroom/transport"]  # example; default: none': (
        'transport_maps = ["transport"]'
    )
}
MESSAGE = b"From: carol@outside.example\r\nSubject: for the lists\r\n\r\nHello.\r\n"


def send(port: int, recipient: str) -> None:
    """Mail from the internet, with smtplib, to our port 25."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("carol@outside.example", [recipient], MESSAGE)


async def received_by(receiver: Receiver, count: int) -> None:
    """Wait until `receiver` has `count` messages (the server is another process)."""
    for _ in range(600):
        if len(receiver.received) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{receiver!r} never received {count} message(s)")


async def test_a_transport_map_relays_a_domain_to_its_next_hop(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    async for internet in start_internet():
        (root / "transport").write_text(
            "# the legacy transport map\n"
            f"lists.relayed.test  smtp:[127.0.0.1]:{internet.smtp_port}\n"
        )
        async for host in start_host(root, TRANSPORT_MAPS):
            await asyncio.to_thread(send, host.port("smtp"), "members@lists.relayed.test")
            await host.running.dispatcher.settled()
            (received,) = internet.mx.received
            assert received.rcpt_tos == ["members@lists.relayed.test"]
            assert b"Subject: for the lists" in received.content
            # not listed: still no open relay
            try:
                await asyncio.to_thread(send, host.port("smtp"), "someone@other.test")
            except smtplib.SMTPRecipientsRefused as refused:
                ((code, text),) = refused.recipients.values()
                assert (code, text[:6]) == (554, b"5.7.1 ")
            else:
                raise AssertionError("relayed for a domain without a transport")


async def test_sighup_reloads_the_transport_map(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    second = Receiver()
    second_port = free_loopback_port()
    controller = Controller(second, hostname="127.0.0.1", port=second_port, ready_timeout=5)
    controller.start()
    try:
        async for internet in start_internet():
            transport = root / "transport"
            transport.write_text(f"lists.relayed.test  smtp:[127.0.0.1]:{internet.smtp_port}\n")
            config, port = await prepare_host(root, {**internet.settings(), **TRANSPORT_MAPS})
            server = await start_server(config)
            try:
                await asyncio.to_thread(send, port, "members@lists.relayed.test")
                await received_by(internet.mx, 1)

                transport.write_text(f"lists.relayed.test  relay:[127.0.0.1]:{second_port}\n")
                server.send_signal(signal.SIGHUP)
                await logged(config, "routing re-read its map files")
                await asyncio.to_thread(send, port, "members@lists.relayed.test")
                await received_by(second, 1)
                assert len(internet.mx.received) == 1

                transport.write_text("lists.relayed.test  error:gone\n")
                server.send_signal(signal.SIGHUP)
                await logged(config, "transport:1: the transport 'error' is not supported")
                await asyncio.to_thread(send, port, "members@lists.relayed.test")
                await received_by(second, 2)  # the last good map is kept
            finally:
                with contextlib.suppress(ProcessLookupError):
                    server.send_signal(signal.SIGTERM)
                await asyncio.wait_for(server.wait(), 60)
    finally:
        controller.stop()
