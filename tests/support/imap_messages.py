"""Numbered messages for IMAP tests, and appending many of them at once (pipelined)."""

from __future__ import annotations

from tests.support.imap_talk import ImapTalk


def message(number: int) -> bytes:
    return (
        f"From: Sender {number} <sender{number}@example.org>\r\n"
        f"To: alice@example.test\r\n"
        f"Subject: message {number}\r\n"
        f"Message-ID: <m{number}@example.org>\r\n"
        f"Date: Tue, 24 Nov 2026 10:{number % 60:02d}:00 +0000\r\n"
        f"\r\n"
        f"Body of message {number}.\r\n"
    ).encode()


async def append_many(talk: ImapTalk, folder: str, numbers: range) -> None:
    """APPEND each message with a non-synchronizing literal, all pipelined."""
    tags = []
    for number in numbers:
        data = message(number)
        tag = talk.next_tag()
        tags.append(tag)
        talk.writer.write(f"{tag} APPEND {folder} {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
    await talk.writer.drain()
    for tag in tags:
        reply = await talk.reply(tag)
        assert reply.ok, reply.tagged
