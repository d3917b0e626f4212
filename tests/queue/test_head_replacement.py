"""MessageWriter.replace_head: the inbound check's Authentication-Results field goes in
before commit, replacing the start of the message, whether the message is still in the
writer's buffer or already (partly) on disk; nothing of it stays behind in incoming/."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailroom.queue import MailQueue, QueueError
from mailroom.queue.writer import FLUSH_AT
from tests.support.queue_messages import envelope

HEAD = b"Authentication-Results: forged; spf=pass\r\nFrom: a@b.example\r\n\r\n"


async def stored(
    queue: MailQueue, message: bytes, replaced: int, head: bytes, *, flush: bool
) -> bytes:
    async with await queue.receive(envelope()) as writer:
        await writer.write(message)
        if flush:
            await writer.flush()
        await writer.replace_head(replaced, head)
        assert writer.size == len(message) - replaced + len(head)
        queue_id = await writer.commit()
    return queue.message_path(queue_id).read_bytes()


@pytest.mark.parametrize("flush", [False, True])
async def test_the_start_of_the_message_is_replaced(queue: MailQueue, flush: bool) -> None:
    message = HEAD + b"body\r\n"
    ours = b"Authentication-Results: mx.example; none\r\n"
    forged_length = HEAD.index(b"From:")
    assert await stored(queue, message, forged_length, ours, flush=flush) == (
        ours + b"From: a@b.example\r\n\r\nbody\r\n"
    )


async def test_a_message_larger_than_the_buffer_is_rewritten_whole(
    queue: MailQueue, tmp_path: Path
) -> None:
    body = b"".join(b"line %07d of a long message\r\n" % i for i in range(3 * FLUSH_AT // 30))
    message = HEAD + body
    result = await stored(queue, message, 0, b"X-Added: 1\r\n", flush=True)
    assert result == b"X-Added: 1\r\n" + message
    assert list((tmp_path / "queue" / "incoming").iterdir()) == []


async def test_writing_after_a_replacement_appends(queue: MailQueue) -> None:
    async with await queue.receive(envelope()) as writer:
        await writer.write(b"Subject: one\r\n")
        await writer.flush()
        await writer.replace_head(0, b"X-First: 1\r\n")
        await writer.write(b"\r\nbody\r\n")
        queue_id = await writer.commit()
    assert (
        queue.message_path(queue_id).read_bytes() == b"X-First: 1\r\nSubject: one\r\n\r\nbody\r\n"
    )


async def test_more_than_was_written_cannot_be_replaced(queue: MailQueue) -> None:
    async with await queue.receive(envelope()) as writer:
        await writer.write(b"short")
        with pytest.raises(QueueError):
            await writer.replace_head(6, b"")
