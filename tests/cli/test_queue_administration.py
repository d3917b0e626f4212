"""`mailroom queue flush|hold|release|delete|bounce` when no server runs: the command
takes the queue's lock and changes the queue itself (a server running is covered in
tests/mailhost/test_queue_administration.py)."""

from __future__ import annotations

import asyncio
import email
import socket
from pathlib import Path

from mailroom.config import load_config
from mailroom.control import CONTROL_SOCKET
from mailroom.queue import MailQueue, RecipientResult, read_entry, read_queue
from tests.support.installation import Installation
from tests.support.queue_messages import body, envelope, queue_message


def queue_directory(installation: Installation) -> Path:
    config = load_config(installation.config)
    return config.resolve(config.data_dir) / "queue"


def queued(installation: Installation, *recipients: str) -> str:
    async def write() -> str:
        async with MailQueue(queue_directory(installation)) as queue:
            return await queue_message(queue, body(), envelope(*recipients))

    return asyncio.run(write())


def test_hold_without_a_server_changes_the_queue_directly(installation: Installation) -> None:
    queue_id = queued(installation)

    result = installation.run("queue", "hold", queue_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"(no server is running: the queue was changed directly)\n{queue_id}: held\n"
    )
    entry = read_entry(queue_directory(installation), queue_id)
    assert entry is not None and entry.envelope.held
    assert entry.due_at is None

    released = installation.run("queue", "release", queue_id)
    assert released.stdout.endswith(f"{queue_id}: released\n")
    entry = read_entry(queue_directory(installation), queue_id)
    assert entry is not None and not entry.envelope.held


def test_a_socket_left_behind_by_a_crash_is_not_mistaken_for_a_server(
    installation: Installation,
) -> None:
    queue_id = queued(installation)
    stale = queue_directory(installation).parent / CONTROL_SOCKET
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))  # bound, never listening, closed: what SIGKILL leaves
    result = installation.run("queue", "delete", queue_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"{queue_id}: deleted\n")
    assert read_queue(queue_directory(installation)) == []


def test_bounce_without_a_server_queues_the_report_for_the_sender(
    installation: Installation,
) -> None:
    queue_id = queued(installation, "bob@example.net")

    result = installation.run("queue", "bounce", queue_id)
    assert result.returncode == 0, result.stderr
    (report,) = read_queue(queue_directory(installation))
    assert report.envelope.sender == ""
    assert [r.address for r in report.envelope.recipients] == ["alice@example.org"]
    assert f"{queue_id}: bounced (report {report.queue_id})" in result.stdout
    message = (queue_directory(installation) / "active" / f"{report.queue_id}.msg").read_bytes()
    parsed = email.message_from_bytes(message)
    assert parsed["Subject"] == "Undelivered Mail Returned to Sender"
    assert b"Final-Recipient: rfc822; bob@example.net" in message


def test_flush_without_a_server_makes_deferred_mail_due_at_the_next_start(
    installation: Installation,
) -> None:
    async def deferred() -> str:
        async with MailQueue(queue_directory(installation)) as queue:
            queue_id = await queue_message(queue, body())
            await queue.due()
            later = RecipientResult.deferred("4.4.1 no answer", next_attempt=4_000_000_000)
            await queue.finish(queue_id, {0: later})
            return queue_id

    queue_id = asyncio.run(deferred())
    result = installation.run("queue", "flush", "ALL")
    assert result.stdout.endswith(f"{queue_id}: to be tried now\n")
    entry = read_entry(queue_directory(installation), queue_id)
    assert entry is not None and entry.due_at is not None and entry.due_at < 4_000_000_000


def test_an_empty_queue_says_so(installation: Installation) -> None:
    result = installation.run("queue", "flush")
    assert result.returncode == 0
    assert result.stdout.endswith("the queue is empty\n")


def test_a_queue_id_that_is_not_queued_exits_1(installation: Installation) -> None:
    result = installation.run("queue", "delete", "0000000000000")
    assert result.returncode == 1
    assert result.stdout.endswith("0000000000000: not in the queue\n")
