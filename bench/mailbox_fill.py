"""Untimed IMAP work that puts a benchmark's messages in place: logging in, commands that
must succeed, APPENDing a corpus in batches and checking a folder's message count.
Shared by imap_bench.py (its folders) and pop3_bench.py (the INBOX it downloads)."""

from __future__ import annotations

from imap_client import AppendItem, ImapConnection, ImapError, Reply, quote
from imap_messages import BenchMessage, iter_batches

APPEND_BATCH = 200  # messages per MULTIAPPEND (or per pipelined burst)
SETUP_TIMEOUT_S = 600.0  # one untimed command (appending a batch, moving 1,000 messages back)
PROGRESS_EVERY = 2000  # messages between "appended" lines, with progress=True


async def logged_in(
    host: str, port: int, user: str, password: str, timeout_s: float
) -> ImapConnection:
    """A new IMAP connection, logged in as `user`; `timeout_s` bounds each command."""
    conn = await ImapConnection.open(host, port, timeout_s)
    try:
        await conn.login(user, password)
    except BaseException:
        conn.abort()
        raise
    return conn


async def must(conn: ImapConnection, command: str, *, keep: bool = False) -> Reply:
    """An untimed command that has to succeed."""
    reply = await conn.command(command, keep=keep, wait_s=SETUP_TIMEOUT_S)
    if not reply.ok():
        raise ImapError(f"{command[:80]}: {reply.status} {reply.text}")
    return reply


async def message_count(conn: ImapConnection, folder: str) -> int:
    reply = await must(conn, f"STATUS {quote(folder)} (MESSAGES)", keep=True)
    for line in reply.untagged:
        upper = line.upper()
        if upper.startswith(b"* STATUS") and b"MESSAGES " in upper:
            return int(upper.split(b"MESSAGES ")[1].split(b")")[0].split()[0])
    raise ImapError(f"STATUS {folder}: no MESSAGES in the reply")


async def append_messages(
    conn: ImapConnection, folder: str, messages: list[BenchMessage], *, progress: bool = False
) -> None:
    """APPEND `messages` to `folder` with their flags and dates, a batch at a time."""
    done = 0
    for batch in iter_batches(messages, APPEND_BATCH):
        items = [AppendItem(m.flags, m.internal_date, m.data) for m in batch]
        done += await conn.append_many(folder, items, wait_s=SETUP_TIMEOUT_S)
        if progress and done % PROGRESS_EVERY < APPEND_BATCH:
            print(f"  appended {done}/{len(messages)}", flush=True)


async def check_filled(conn: ImapConnection, folder: str, expected: int) -> None:
    """ImapError unless `folder` holds exactly `expected` messages after a fill."""
    count = await message_count(conn, folder)
    if count != expected:
        raise ImapError(f"{folder} holds {count} messages after the fill, not {expected}")
