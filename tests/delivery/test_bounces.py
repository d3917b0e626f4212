"""The bouncer on a real queue: delay warnings (once, only when asked for, never to
<>), and the double bounce to the postmaster (dropped when it fails in turn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailroom.delivery.bounces import Bouncer
from mailroom.queue import (
    EnvelopeRecipient,
    MailQueue,
    QueueEntry,
    RecipientResult,
    RecipientState,
)
from tests.support.queue_messages import body, envelope, queue_message

HOUR = 3600.0


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[MailQueue]:
    async with MailQueue(tmp_path / "queue") as opened:
        yield opened


async def deferred(
    queue: MailQueue, *, sender: str = "alice@example.org", notify: frozenset[str] | None = None
) -> QueueEntry:
    env = envelope("bob@example.net", sender=sender, received_at=1_000_000.0)
    if notify is not None:
        env = replace(
            env, recipients=(EnvelopeRecipient("bob@example.net", "bob@example.net", notify),)
        )
    queue_id = await queue_message(queue, body(), env)
    await queue.due()
    return await queue.finish(
        queue_id, {0: RecipientResult.deferred("4.4.1 no answer")}, now=1_000_001.0
    )


def bouncer(queue: MailQueue, now: float) -> Bouncer:
    return Bouncer(queue, "mx.example.org", delay_warning=4 * HOUR, clock=lambda: now)


async def reports(queue: MailQueue, about: str) -> list[QueueEntry]:
    return [e for e in await queue.entries() if e.queue_id != about]


async def test_no_warning_before_the_delay(queue: MailQueue) -> None:
    entry = await deferred(queue)
    assert await bouncer(queue, 1_000_000.0 + 3 * HOUR).warn_of_delay(entry) is None


async def test_one_warning_after_the_delay_and_never_another(queue: MailQueue) -> None:
    entry = await deferred(queue)
    later = bouncer(queue, 1_000_000.0 + 5 * HOUR)
    report_id = await later.warn_of_delay(entry)
    assert report_id is not None
    (report,) = await reports(queue, entry.queue_id)
    assert report.envelope.sender == ""
    assert [r.address for r in report.envelope.recipients] == ["alice@example.org"]
    message = queue.message_path(report_id).read_bytes()
    assert b"Action: delayed" in message
    assert b"Will-Retry-Until: " in message

    warned = await queue.get(entry.queue_id)
    assert warned is not None and warned.envelope.delay_warned
    assert await later.warn_of_delay(warned) is None


@pytest.mark.parametrize("notify", [frozenset({"NEVER"}), frozenset({"FAILURE"})])
async def test_no_warning_unless_notify_asks_for_delays(
    queue: MailQueue, notify: frozenset[str]
) -> None:
    entry = await deferred(queue, notify=notify)
    assert await bouncer(queue, 1_000_000.0 + 5 * HOUR).warn_of_delay(entry) is None


async def test_no_warning_to_the_null_sender(queue: MailQueue) -> None:
    entry = await deferred(queue, sender="")
    assert await bouncer(queue, 1_000_000.0 + 5 * HOUR).warn_of_delay(entry) is None
    assert await reports(queue, entry.queue_id) == []


async def test_no_warning_when_switched_off(queue: MailQueue) -> None:
    entry = await deferred(queue)
    off = Bouncer(queue, "mx.example.org", clock=lambda: 1_000_000.0 + 100 * HOUR)
    assert await off.warn_of_delay(entry) is None


async def failed(queue: MailQueue, sender: str) -> tuple[QueueEntry, QueueEntry]:
    queue_id = await queue_message(queue, body(), envelope("bob@example.net", sender=sender))
    (before,) = await queue.due()
    after = await queue.update(queue_id, {0: RecipientResult.failed("550 5.1.1 no such user")})
    return before, after


async def test_a_failed_bounce_is_reported_to_the_postmaster(queue: MailQueue) -> None:
    before, after = await failed(queue, "")
    report_id = await bouncer(queue, 1_000_000.0).report_failures(before, after)
    assert report_id is not None
    report = await queue.get(report_id)
    assert report is not None
    assert report.envelope.sender == "double-bounce@mx.example.org"
    assert [r.address for r in report.envelope.recipients] == ["postmaster@mx.example.org"]
    assert report.envelope.recipients[0].state is RecipientState.PENDING


async def test_a_failed_double_bounce_is_dropped(queue: MailQueue) -> None:
    before, after = await failed(queue, "double-bounce@mx.example.org")
    assert await bouncer(queue, 1_000_000.0).report_failures(before, after) is None
    assert await reports(queue, after.queue_id) == []
