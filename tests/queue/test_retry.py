"""Retries: growing delays, and expiry after the queue lifetime."""

from __future__ import annotations

import logging
import time

import pytest

from mailroom.config.model import QueueConfig
from mailroom.queue import MailQueue, RecipientResult, RecipientState, RetrySchedule
from tests.support.queue_messages import body, envelope, queue_message

DAY = 86400.0


def test_delays_double_from_five_minutes_up_to_four_hours() -> None:
    schedule = RetrySchedule()
    assert [schedule.delay(n) / 60 for n in range(1, 10)] == [
        5, 10, 20, 40, 80, 160, 240, 240, 240,
    ]  # fmt: skip
    assert schedule.delay(10_000) == 4 * 3600


def test_the_lifetime_comes_from_the_config() -> None:
    schedule = RetrySchedule.from_config(QueueConfig(max_lifetime_seconds=2 * DAY))
    assert schedule.is_expired(received_at=0, now=2 * DAY)
    assert not schedule.is_expired(received_at=0, now=2 * DAY - 1)


def test_the_last_retry_is_at_the_moment_of_expiry() -> None:
    schedule = RetrySchedule(max_lifetime=DAY)
    assert schedule.next_attempt(attempts=9, received_at=0, now=DAY - 60) == DAY


async def test_a_deferral_after_the_lifetime_fails_the_recipient(
    queue: MailQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.queue")
    accepted = time.time() - 5 * DAY
    queue_id = await queue_message(queue, body(), envelope("b@example.net", received_at=accepted))

    entry = await queue.update(queue_id, {0: RecipientResult.deferred("4.4.1 connection refused")})

    [recipient] = entry.envelope.recipients
    assert recipient.state is RecipientState.FAILED
    assert recipient.last_reply == (
        "4.4.7 Delivery time expired after 5 days; last error: 4.4.1 connection refused"
    )
    assert entry.is_done
    assert (
        f"{queue_id}: to=<b@example.net>, status=expired "
        "(undeliverable for 5 days; last error: 4.4.1 connection refused)"
    ) in caplog.messages


async def test_a_requested_retry_time_is_kept_within_the_lifetime(queue: MailQueue) -> None:
    accepted = time.time()
    queue_id = await queue_message(queue, body(), envelope(received_at=accepted))
    entry = await queue.update(
        queue_id, {0: RecipientResult.deferred("4.7.0 greylisted", accepted + 30 * DAY)}
    )
    assert entry.envelope.recipients[0].next_attempt == accepted + 5 * DAY
