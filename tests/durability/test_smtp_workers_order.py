"""With `[server] workers = 2` a worker process answers SMTP and commits into the host's
queue itself: its 250 is written only once `ID.msg` and `ID.env` are fsynced, renamed
into `active/` and `active/` fsynced, as the main process's own commit does
(test_smtp_order.py), seen in the system calls of the real server under `strace -f`
(which follows the workers). The reply must come from a worker, not the main process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailroom.queue import queue_id_slot
from tests.durability.host import maildir, maildir_files, send
from tests.durability.test_smtp_order import assert_queued
from tests.support.server_process import prepare_host
from tests.support.strace import _server_pid, traced_server

WORKERS = {"# workers = 1": "workers = 2"}


async def test_a_workers_queued_message_is_durable_before_its_250(tmp_path: Path) -> None:
    config, port = await prepare_host(tmp_path / "host", WORKERS)
    async with traced_server(config) as server:
        main = _server_pid(server.process.pid)
        ids = await asyncio.gather(
            *(send(port, ["list@lists.example.test"], f"q{n}") for n in range(4)),
            send(port, ["alice@example.test", "list@lists.example.test"], "mixed", bdat=True),
        )
        trace = await server.stop()
    for queue_id in ids:
        assert queue_id_slot(queue_id) in (1, 2), queue_id
        reply = trace.reply(f"queued as {queue_id}".encode())
        assert reply.pid != main, f"{queue_id}: answered by the main process"
        assert_queued(trace, config, queue_id)
    [delivered] = maildir_files(maildir(config, "alice@example.test"))
    trace.assert_stored(delivered, trace.reply(f"queued as {ids[-1]}".encode()))
