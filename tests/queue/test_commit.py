"""Receiving a message: streamed into the queue, durable on commit, gone on abort."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailroom.queue import MailQueue, QueueError
from mailroom.queue.writer import FLUSH_AT
from tests.support.queue_messages import body, envelope, queue_message


async def test_a_committed_message_is_listed_with_its_envelope_and_size(queue: MailQueue) -> None:
    message = body()
    queue_id = await queue_message(queue, message, envelope("bob@example.net", "carol@example.net"))

    [entry] = await queue.entries()
    assert entry.queue_id == queue_id
    assert entry.size == len(message)
    assert [r.address for r in entry.envelope.recipients] == [
        "bob@example.net",
        "carol@example.net",
    ]
    assert await queue.get(queue_id) == entry


async def test_the_stored_message_is_exactly_what_was_written(queue: MailQueue) -> None:
    # Several flushes' worth, in uneven chunks.
    message = b"".join(f"line {n}\r\n".encode() for n in range(3 * FLUSH_AT // 8))
    async with await queue.receive(envelope()) as writer:
        for start in range(0, len(message), 10007):
            await writer.write(message[start : start + 10007])
        queue_id = await writer.commit()

    assert queue.message_path(queue_id).read_bytes() == message


async def test_commit_logs_sender_size_and_recipient_count_after_the_queue_id(
    queue: MailQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.queue")
    queue_id = await queue_message(queue, b"x" * 123, envelope("b@example.net", "c@example.net"))
    assert f"{queue_id}: from=<alice@example.org>, size=123, nrcpt=2" in caplog.messages


async def test_a_bounce_is_logged_with_the_null_sender(
    queue: MailQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.queue")
    queue_id = await queue_message(queue, b"x", envelope(sender=""))
    assert f"{queue_id}: from=<>, size=1, nrcpt=1" in caplog.messages


async def test_the_message_and_its_envelope_are_files_in_active(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    assert sorted(p.name for p in queue.active.iterdir()) == [f"{queue_id}.env", f"{queue_id}.msg"]
    assert list(queue.incoming.iterdir()) == []


async def test_an_aborted_message_leaves_nothing_behind(queue: MailQueue) -> None:
    writer = await queue.receive(envelope())
    await writer.write(b"half a message")
    await writer.abort()

    assert await queue.entries() == []
    assert list(queue.incoming.iterdir()) == []


async def test_a_session_that_fails_while_writing_leaves_nothing_behind(queue: MailQueue) -> None:
    with pytest.raises(ConnectionResetError):
        async with await queue.receive(envelope()) as writer:
            await writer.write(b"half a message")
            raise ConnectionResetError

    assert list(queue.incoming.iterdir()) == []


async def test_writing_after_commit_is_refused(queue: MailQueue) -> None:
    writer = await queue.receive(envelope())
    await writer.write(b"x")
    queue_id = await writer.commit()
    with pytest.raises(QueueError, match=f"{queue_id}: the message is already committed"):
        await writer.write(b"y")


async def test_commit_may_name_fewer_recipients_than_receive(queue: MailQueue) -> None:
    """A session that delivered some recipients at once queues only the rest."""
    writer = await queue.receive(envelope("local@example.org", "far@example.net"))
    await writer.write(body())
    await writer.flush()
    assert writer.path.read_bytes() == body()  # readable for the local delivery
    queue_id = await writer.commit(envelope("far@example.net"))

    entry = await queue.get(queue_id)
    assert entry is not None
    assert [r.address for r in entry.envelope.recipients] == ["far@example.net"]


async def test_a_queue_that_is_not_open_says_so(tmp_path: Path) -> None:
    queue = MailQueue(tmp_path / "queue")
    with pytest.raises(QueueError, match="is not open"):
        await queue.receive(envelope())


async def test_directories_are_private_to_the_server(queue: MailQueue) -> None:
    for directory in (queue.directory, queue.incoming, queue.active, queue.corrupt):
        assert directory.stat().st_mode & 0o777 == 0o700
