"""The delivery side of the queue, as the dispatcher uses it: wait for work, claim
what is due, report each recipient's result, and let done messages go."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from mailroom.queue import MailQueue, RecipientResult, RecipientState, UnknownMessage
from tests.support.queue_messages import body, envelope, queue_message


async def test_a_new_message_is_due_at_once_and_handed_out_only_once(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())

    assert [entry.queue_id for entry in await queue.due()] == [queue_id]
    assert await queue.due() == []  # claimed until released


async def test_a_released_message_is_handed_out_again(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()
    queue.release(queue_id)
    assert [entry.queue_id for entry in await queue.due()] == [queue_id]


async def test_waiting_for_work_returns_when_a_message_is_committed(queue: MailQueue) -> None:
    waiting = asyncio.create_task(queue.wait_for_work())
    await asyncio.sleep(0)  # let it start waiting on an empty queue
    assert not waiting.done()

    await queue_message(queue, body())
    await asyncio.wait_for(waiting, timeout=10)


async def test_waiting_for_work_returns_when_a_deferred_message_comes_due(
    queue: MailQueue,
) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()
    # Far enough ahead that a loaded machine's finish() does not outlast it (0.05 s did).
    soon = time.time() + 0.5
    await queue.finish(queue_id, {0: RecipientResult.deferred("4.4.1 no answer", soon)})
    assert await queue.due() == []

    await asyncio.wait_for(queue.wait_for_work(), timeout=10)
    # Not early: due() reads the clock now, and a wake before `soon` finds nothing due.
    assert [entry.queue_id for entry in await queue.due()] == [queue_id]


async def test_delivered_recipients_are_remembered_across_a_restart(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body(), envelope("a@example.net", "b@example.net"))
        assert [entry.queue_id for entry in await queue.due()] == [queue_id]
        await queue.update(queue_id, {0: RecipientResult.delivered("2.0.0 Ok: queued as 42")})

    async with MailQueue(tmp_path / "queue") as reopened:
        entry = await reopened.get(queue_id)
        assert entry is not None
        first, second = entry.envelope.recipients
        assert (first.state, first.last_reply, first.attempts) == (
            RecipientState.DELIVERED,
            "2.0.0 Ok: queued as 42",
            1,
        )
        assert second.state is RecipientState.PENDING
        assert entry.unfinished() == [(1, second)]


async def test_a_deferred_recipient_waits_for_the_retry_schedule(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()
    now = time.time()
    entry = await queue.finish(
        queue_id, {0: RecipientResult.deferred("4.2.2 Mailbox full")}, now=now
    )

    [recipient] = entry.envelope.recipients
    assert recipient.state is RecipientState.DEFERRED
    assert recipient.next_attempt == now + 300
    assert await queue.due(now + 299) == []
    assert [e.queue_id for e in await queue.due(now + 300)] == [queue_id]


async def test_finishing_the_last_recipient_removes_the_message(
    queue: MailQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.queue")
    queue_id = await queue_message(queue, body(), envelope("a@example.net", "b@example.net"))
    await queue.due()
    await queue.finish(queue_id, {0: RecipientResult.delivered()})
    assert await queue.get(queue_id) is not None

    assert [entry.queue_id for entry in await queue.due()] == [queue_id]
    await queue.finish(queue_id, {1: RecipientResult.failed("5.1.1 no such user")})

    assert await queue.get(queue_id) is None
    assert list(queue.active.iterdir()) == []
    assert f"{queue_id}: removed" in caplog.messages


async def test_every_log_line_about_a_message_starts_with_its_id(
    queue: MailQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mailroom.queue")
    caplog.clear()
    queue_id = await queue_message(queue, body())
    await queue.due()
    await queue.finish(queue_id, {0: RecipientResult.delivered()})
    assert caplog.messages
    assert all(message.startswith(f"{queue_id}: ") for message in caplog.messages)


async def test_results_for_an_unknown_message_or_recipient_are_refused(queue: MailQueue) -> None:
    with pytest.raises(UnknownMessage):
        await queue.update("0000000000000", {0: RecipientResult.delivered()})
    queue_id = await queue_message(queue, body())
    with pytest.raises(IndexError, match="no recipient number 1"):
        await queue.update(queue_id, {1: RecipientResult.delivered()})


async def test_a_hostile_queue_id_names_no_file(queue: MailQueue) -> None:
    with pytest.raises(UnknownMessage):
        queue.message_path("../../../etc/passwd")


async def test_removing_a_message_deletes_its_files(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.remove(queue_id)
    assert await queue.entries() == []
    assert list(queue.active.iterdir()) == []
