"""`mailroom queue flush|hold|release|delete|bounce` against a running server: the
command asks it over the control channel, and the server's own queue and delivery do
the rest. outside.example's MX first answers 451 for dave@, so his mail waits."""

from __future__ import annotations

import asyncio
import email
import signal
import stat
import subprocess
from email.message import Message
from pathlib import Path

import aiosmtplib
import pytest

from mailroom.control import CONTROL_SOCKET
from mailroom.queue import QueueEntry, read_queue
from tests.support.installation import Outcome, invoke, mailroom_process
from tests.support.mail_host import MailHost
from tests.support.server_process import logged, prepare_host, start_server
from tests.support.submission import submit

WAITING = "dave@outside.example"


async def mailroom(host: MailHost, *args: str) -> Outcome:
    """Run `mailroom ARGS` as an administrator would, while this loop keeps serving."""
    return await asyncio.to_thread(invoke, *args, "-c", str(host.root / "mailroom.toml"))


async def deferred_message(host: MailHost) -> QueueEntry:
    """A message from alice to dave, deferred once by outside.example (451)."""
    host.internet.mx.rcpt_replies[WAITING] = "451 4.3.0 <dave@outside.example>: try later"
    await submit(host, "alice@example.test", [WAITING])
    await host.running.dispatcher.settled()
    (entry,) = await host.running.services.queue.entries()
    assert entry.envelope.recipients[0].state.value == "deferred"
    del host.internet.mx.rcpt_replies[WAITING]  # from now on dave's MX takes it
    return entry


def report_of(message: bytes) -> str:
    report: Message = email.message_from_bytes(message)
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    return status.as_string()


async def test_the_control_socket_is_for_the_servers_user_only(mailhost: MailHost) -> None:
    mode = (mailhost.root / "data" / CONTROL_SOCKET).stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


async def test_flush_delivers_deferred_mail_now(mailhost: MailHost) -> None:
    entry = await deferred_message(mailhost)

    result = await mailroom(mailhost, "queue", "flush", "ALL")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{entry.queue_id}: to be tried now\n"
    await mailhost.running.dispatcher.settled()

    (received,) = mailhost.internet.mx.received
    assert received.rcpt_tos == [WAITING]
    assert await mailhost.running.services.queue.entries() == []


async def test_without_flush_deferred_mail_waits_for_its_retry(mailhost: MailHost) -> None:
    await deferred_message(mailhost)
    await mailhost.running.dispatcher.settled()
    assert mailhost.internet.mx.received == []


async def test_a_held_message_is_not_delivered_until_released(mailhost: MailHost) -> None:
    entry = await deferred_message(mailhost)

    held = await mailroom(mailhost, "queue", "hold", entry.queue_id)
    assert held.stdout == f"{entry.queue_id}: held\n"
    flushed = await mailroom(mailhost, "queue", "flush", entry.queue_id)
    assert flushed.stdout == f"{entry.queue_id}: held (release it first)\n"
    await mailhost.running.dispatcher.settled()
    assert mailhost.internet.mx.received == []
    listing = await mailroom(mailhost, "queue", "list")
    assert "ON HOLD" in listing.stdout
    assert "1 message(s); recipients: 1 held" in listing.stdout

    released = await mailroom(mailhost, "queue", "release", entry.queue_id)
    assert released.stdout == f"{entry.queue_id}: released\n"
    await mailroom(mailhost, "queue", "flush", entry.queue_id)
    await mailhost.running.dispatcher.settled()
    (received,) = mailhost.internet.mx.received
    assert received.rcpt_tos == [WAITING]


async def test_the_hold_is_kept_in_the_envelope_on_disk(mailhost: MailHost) -> None:
    entry = await deferred_message(mailhost)
    await mailroom(mailhost, "queue", "hold", entry.queue_id)
    envelope = (mailhost.root / "data" / "queue" / "active" / f"{entry.queue_id}.env").read_text()
    assert '"held": true' in envelope


async def test_delete_removes_a_message_and_tells_nobody(mailhost: MailHost) -> None:
    entry = await deferred_message(mailhost)

    result = await mailroom(mailhost, "queue", "delete", entry.queue_id)
    assert result.stdout == f"{entry.queue_id}: deleted\n"
    await mailhost.running.dispatcher.settled()
    assert await mailhost.running.services.queue.entries() == []
    assert await mailhost.delivered("alice@example.test") == []
    assert mailhost.internet.mx.received == []


async def test_bounce_returns_the_message_to_its_sender(mailhost: MailHost) -> None:
    entry = await deferred_message(mailhost)

    result = await mailroom(mailhost, "queue", "bounce", entry.queue_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{entry.queue_id}: bounced (report ")

    (bounce,) = await mailhost.delivered("alice@example.test")
    assert bounce.startswith(b"Return-Path: <>\n")
    report = report_of(bounce)
    assert "Final-Recipient: rfc822; dave@outside.example" in report
    assert "Action: failed" in report
    assert "Status: 5.0.0" in report
    assert "returned to the sender by the mail administrator" in report
    assert mailhost.internet.mx.received == []
    assert await mailhost.running.services.queue.entries() == []


async def test_an_unknown_queue_id_is_reported_and_the_others_are_done(
    mailhost: MailHost,
) -> None:
    entry = await deferred_message(mailhost)

    result = await mailroom(mailhost, "queue", "hold", "0000000000000", entry.queue_id)
    assert result.returncode == 1
    assert result.stdout == f"0000000000000: not in the queue\n{entry.queue_id}: held\n"


async def test_what_is_not_a_queue_id_is_refused_before_anything_is_done(
    mailhost: MailHost,
) -> None:
    entry = await deferred_message(mailhost)
    result = await mailroom(mailhost, "queue", "delete", entry.queue_id, "../../etc/passwd")
    assert result.returncode == 1
    assert result.stderr == "mailroom: error: '../../etc/passwd' is not a queue id\n"
    assert len(await mailhost.running.services.queue.entries()) == 1


@pytest.mark.parametrize("command", ["hold", "delete", "bounce"])
async def test_all_acts_on_every_queued_message(mailhost: MailHost, command: str) -> None:
    entry = await deferred_message(mailhost)
    result = await mailroom(mailhost, "queue", command, "ALL")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{entry.queue_id}: ")


async def test_the_command_reaches_a_server_running_as_another_process(tmp_path: Path) -> None:
    """Both sides as an administrator has them: `mailroom serve` and `mailroom queue` as
    processes. lists.example.test's transport host refuses connections, so mail waits."""
    config_path, port = await prepare_host(tmp_path / "host")
    server = await start_server(config_path)
    try:
        await aiosmtplib.send(
            b"Subject: for the list\r\n\r\nHello.\r\n",
            sender="carol@outside.example",
            recipients=["members@lists.example.test"],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
        )
        await logged(config_path, "status=deferred")
        (entry,) = read_queue(config_path.parent / "data" / "queue")

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return mailroom_process("-c", str(config_path), "queue", *args)

        held = await asyncio.to_thread(run, "hold", entry.queue_id)
        assert (held.returncode, held.stdout) == (0, f"{entry.queue_id}: held\n")
        (after,) = read_queue(config_path.parent / "data" / "queue")
        assert after.envelope.held

        deleted = await asyncio.to_thread(run, "delete", "ALL")
        assert deleted.stdout == f"{entry.queue_id}: deleted\n"
        assert read_queue(config_path.parent / "data" / "queue") == []
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 60)
    assert not (config_path.parent / "data" / CONTROL_SOCKET).exists()
