"""SMTP's 250 after DATA or BDAT LAST is written only once the message is on stable
storage, seen in the system calls of the real server (`mailroom serve` under strace):
for local delivery at DATA, the Maildir file fsynced, linked into `new/`, `new/`
fsynced; for the queue, `ID.msg` and `ID.env` fsynced, renamed into `active/`, and
`active/` fsynced (by whichever committer led the group commit); all before the reply
reached the socket."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.durability.host import maildir, maildir_files, queue_layout, send
from tests.support.server_process import prepare_host
from tests.support.strace import Trace, traced_server


async def test_local_delivery_at_data_is_durable_before_250(tmp_path: Path) -> None:
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:
        queue_id = await send(port, ["alice@example.test"], "local")
        trace = await server.stop()
    [delivered] = maildir_files(maildir(config, "alice@example.test"))
    trace.assert_stored(delivered, trace.reply(f"queued as {queue_id}".encode()))


def assert_queued(trace: Trace, config: Path, queue_id: str) -> None:
    """The queue's files of `queue_id` reached `active/` durably before its 250."""
    layout = queue_layout(config)
    reply = trace.reply(f"queued as {queue_id}".encode())
    trace.assert_stored(layout.message(queue_id), reply)
    trace.assert_stored(layout.envelope(queue_id), reply)


async def test_a_queued_message_is_durable_before_250(tmp_path: Path) -> None:
    """A relay domain's recipient: the message waits in the queue."""
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:
        queue_id = await send(port, ["list@lists.example.test"], "queued")
        trace = await server.stop()
    assert_queued(trace, config, queue_id)


async def test_bdat_last_with_local_and_queued_recipients_is_durable(tmp_path: Path) -> None:
    """BDAT LAST to alice (delivered at once) and a relay domain (queued): both the
    Maildir and the queue before the 250."""
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:
        queue_id = await send(
            port, ["alice@example.test", "list@lists.example.test"], "mixed", bdat=True
        )
        trace = await server.stop()
    [delivered] = maildir_files(maildir(config, "alice@example.test"))
    reply = trace.reply(f"queued as {queue_id}".encode())
    trace.assert_stored(delivered, reply)
    assert_queued(trace, config, queue_id)


SENDERS = 6
EACH = 3


async def test_group_commit_tells_no_one_before_its_directory_fsync(tmp_path: Path) -> None:
    """Concurrent messages into the queue share fsyncs of `active/` (group commit):
    each 250 still follows an fsync of `active/` that started after that message's
    own renames."""
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:

        async def sender(number: int) -> list[str]:
            return [
                await send(port, ["list@lists.example.test"], f"g{number}-{count}")
                for count in range(EACH)
            ]

        ids = [i for batch in await asyncio.gather(*map(sender, range(SENDERS))) for i in batch]
        trace = await server.stop()
    assert len(set(ids)) == SENDERS * EACH
    for queue_id in ids:
        assert_queued(trace, config, queue_id)


def subject(path: Path) -> bytes:
    match = re.search(rb"Subject: (\S+)", path.read_bytes())
    assert match, path
    return match.group(1)


async def test_deliveries_into_one_maildir_at_once_are_each_durable(tmp_path: Path) -> None:
    """Concurrent local deliveries to one Maildir: each file and `new/` fsynced before
    its own 250."""
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:
        ids = await asyncio.gather(
            *(send(port, ["bob@example.test"], f"b{n}") for n in range(SENDERS))
        )
        trace = await server.stop()
    files = maildir_files(maildir(config, "bob@example.test"))
    assert len(files) == SENDERS
    by_token = {subject(path): path for path in files}
    for number, queue_id in enumerate(ids):
        reply = trace.reply(f"queued as {queue_id}".encode())
        trace.assert_stored(by_token[f"b{number}".encode()], reply)
    assert os.path.isdir(maildir(config, "bob@example.test") / "new")


async def test_a_message_for_several_local_recipients_is_durable_in_each(tmp_path: Path) -> None:
    """One small message for two accounts, delivered at once from memory (no queue
    file) and to both side by side: each Maildir's file and `new/` fsynced before the
    one 250."""
    config, port = await prepare_host(tmp_path / "host")
    async with traced_server(config) as server:
        queue_id = await send(port, ["alice@example.test", "bob@example.test"], "both")
        trace = await server.stop()
    reply = trace.reply(f"queued as {queue_id}".encode())
    for address in ("alice@example.test", "bob@example.test"):
        [delivered] = maildir_files(maildir(config, address))
        trace.assert_stored(delivered, reply)
    assert not queue_layout(config).message(queue_id).exists()
