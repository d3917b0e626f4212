"""Envelopes and message bodies for the queue's tests."""

from __future__ import annotations

import time

from mailroom.queue import ClientInfo, Envelope, EnvelopeRecipient, MailParams, MailQueue


def envelope(
    *recipients: str, sender: str = "alice@example.org", received_at: float | None = None
) -> Envelope:
    return Envelope(
        sender=sender,
        recipients=tuple(
            EnvelopeRecipient(address, address) for address in recipients or ("bob@example.net",)
        ),
        received_at=time.time() if received_at is None else received_at,
        params=MailParams(size=1000, body="8BITMIME"),
        client=ClientInfo(helo="client.example.org", ip="192.0.2.7"),
    )


def body(text: str = "Hello") -> bytes:
    return f"From: alice@example.org\r\nSubject: test\r\n\r\n{text}\r\n".encode()


async def queue_message(queue: MailQueue, message: bytes, env: Envelope | None = None) -> str:
    """Receive and commit one message, as an SMTP session would after DATA."""
    async with await queue.receive(env or envelope()) as writer:
        await writer.write(message)
        return await writer.commit()
