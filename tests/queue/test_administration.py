"""What the queue offers its administrators: holding, rescheduling and claiming a
message, and envelopes that remember both hold and delay warning across a restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from mailroom.queue import Envelope, MailQueue, RecipientResult, RecipientState
from tests.support.queue_messages import body, envelope, queue_message


async def test_a_held_message_is_never_due_until_released(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.set_held(queue_id, True)
    assert await queue.due() == []
    assert queue.next_due() is None

    await queue.set_held(queue_id, False)
    assert [entry.queue_id for entry in await queue.due()] == [queue_id]


async def test_the_hold_and_the_warning_survive_a_restart(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body())
        await queue.set_held(queue_id, True)
        await queue.mark_delay_warned(queue_id)
    async with MailQueue(tmp_path / "queue") as reopened:
        entry = await reopened.get(queue_id)
        assert entry is not None
        assert (entry.envelope.held, entry.envelope.delay_warned) == (True, True)
        assert await reopened.due() == []


async def test_a_hold_placed_during_a_delivery_attempt_outlives_its_results(
    queue: MailQueue,
) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()  # a delivery attempt begins
    await queue.set_held(queue_id, True)
    entry = await queue.finish(queue_id, {0: RecipientResult.deferred("4.4.1 no answer")})
    assert entry.envelope.held
    assert entry.envelope.recipients[0].state is RecipientState.DEFERRED


async def test_reschedule_makes_deferred_recipients_due_now(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()
    await queue.finish(queue_id, {0: RecipientResult.deferred("4.4.1 no answer")})
    assert await queue.due() == []

    now = time.time()
    entry = await queue.reschedule(queue_id, now)
    assert entry.due_at == now
    assert [e.queue_id for e in await queue.due(now)] == [queue_id]


async def test_a_claim_waits_for_a_delivery_attempt_to_end(queue: MailQueue) -> None:
    queue_id = await queue_message(queue, body())
    await queue.due()  # claimed by a delivery attempt
    claim = asyncio.create_task(queue.claim(queue_id))
    await asyncio.sleep(0)
    assert not claim.done()

    await queue.finish(queue_id, {0: RecipientResult.deferred("4.4.1 no answer")})
    entry = await asyncio.wait_for(claim, 10)
    assert entry.queue_id == queue_id
    assert await queue.due(time.time() + 10**6) == []  # the administrator has it now


def test_an_envelope_written_before_hold_existed_still_reads() -> None:
    document = json.loads(envelope().to_json())
    del document["held"], document["delay_warned"]
    old = Envelope.from_json(json.dumps(document).encode())
    assert (old.held, old.delay_warned) == (False, False)
