"""`mailroom queue list|show` while the server runs; one server per queue."""

from __future__ import annotations

import aiosmtplib
import pytest

from mailroom.queue import MailQueue, QueueInUse
from tests.support.installation import invoke
from tests.support.mail_host import MailHost

MESSAGE = b"From: carol@outside.example\r\nSubject: waiting\r\n\r\nBody.\r\n"


async def queue_one_message(host: MailHost) -> str:
    await aiosmtplib.send(
        MESSAGE,
        sender="carol@outside.example",
        recipients=["list@lists.example.test"],
        hostname="127.0.0.1",
        port=host.port("smtp"),
        start_tls=False,
    )
    await host.running.dispatcher.settled()
    (entry,) = await host.running.services.queue.entries()
    return entry.queue_id


async def test_queue_list_shows_waiting_mail_by_state_and_destination(mailhost: MailHost) -> None:
    queue_id = await queue_one_message(mailhost)
    result = invoke("queue", "list", "-c", str(mailhost.root / "mailroom.toml"))
    assert result.returncode == 0, result.stderr
    assert queue_id in result.stdout
    assert "list@lists.example.test (deferred)" in result.stdout
    assert "1 message(s); recipients: 1 deferred" in result.stdout
    assert "by destination: lists.example.test 1" in result.stdout


async def test_queue_show_gives_envelope_recipients_and_headers(mailhost: MailHost) -> None:
    queue_id = await queue_one_message(mailhost)
    result = invoke("queue", "show", queue_id, "-c", str(mailhost.root / "mailroom.toml"))
    assert result.returncode == 0, result.stderr
    assert "<carol@outside.example>" in result.stdout
    assert "deferred" in result.stdout
    assert "4.4.1 connect to 127.0.0.1[127.0.0.1]:1" in result.stdout  # the transport's host
    assert "Subject: waiting" in result.stdout


async def test_queue_show_of_an_unknown_id_says_so(mailhost: MailHost) -> None:
    result = invoke("queue", "show", "NOSUCHID", "-c", str(mailhost.root / "mailroom.toml"))
    assert result.returncode == 1
    assert result.stderr.startswith("mailroom: error: no message 'NOSUCHID' in the queue")


async def test_a_second_process_cannot_open_a_queue_in_use(mailhost: MailHost) -> None:
    second = MailQueue(mailhost.root / "data" / "queue")
    with pytest.raises(QueueInUse, match="in use by another Mailroom process"):
        await second.open()
