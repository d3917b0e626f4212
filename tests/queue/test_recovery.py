"""After a crash: what was committed is found again, what was not is gone.

The last test is the real thing: a child process commits messages as fast as
it can, printing each id once commit() returned, and is killed with SIGKILL at
a random moment; every printed id must then be in the reopened queue, whole.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from mailroom.queue import MailQueue, RecipientResult
from tests.support.queue_messages import body, envelope, queue_message


async def test_an_uncommitted_message_is_removed_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.queue")
    async with MailQueue(tmp_path / "queue") as queue:
        kept = await queue_message(queue, body())
        writer = await queue.receive(envelope())
        await writer.write(b"the client was still sending when the power went")
        await writer.flush()
        lost = writer.queue_id
        # The process dies here: no commit, no abort.

    async with MailQueue(tmp_path / "queue") as queue:
        assert [entry.queue_id for entry in await queue.entries()] == [kept]
        assert list(queue.incoming.iterdir()) == []
    assert f"{lost}: removed an incomplete message (never acknowledged)" in caplog.messages


async def test_a_message_without_its_envelope_is_an_interrupted_commit(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body())
        # As if the crash came between the two renames of the commit.
        (queue.active / f"{queue_id}.env").unlink()

    async with MailQueue(tmp_path / "queue") as queue:
        assert await queue.entries() == []
        assert list(queue.active.iterdir()) == []


async def test_a_commit_whose_renames_landed_out_of_order_is_finished(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body())
        os.rename(queue.active / f"{queue_id}.msg", queue.incoming / f"{queue_id}.msg")

    async with MailQueue(tmp_path / "queue") as queue:
        assert [entry.queue_id for entry in await queue.entries()] == [queue_id]
        assert queue.message_path(queue_id).read_bytes() == body()


async def test_an_unreadable_envelope_is_set_aside_not_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        broken = await queue_message(queue, body("broken"))
        fine = await queue_message(queue, body("fine"))
        (queue.active / f"{broken}.env").write_bytes(b'{"version": 1, "sender": ')

    async with MailQueue(tmp_path / "queue") as queue:
        assert [entry.queue_id for entry in await queue.entries()] == [fine]
        assert sorted(p.name for p in queue.corrupt.iterdir()) == [f"{broken}.env", f"{broken}.msg"]
    assert any(m.startswith(f"{broken}: moved to ") for m in caplog.messages)


async def test_a_message_done_before_the_crash_is_removed_on_open(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body())
        await queue.update(queue_id, {0: RecipientResult.delivered()})
        # Crash before remove().

    async with MailQueue(tmp_path / "queue") as queue:
        assert await queue.entries() == []
        assert list(queue.active.iterdir()) == []


async def test_a_half_written_envelope_update_leaves_the_old_envelope(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body())
        (queue.incoming / f"{queue_id}.update").write_bytes(b'{"version": 1, "sen')

    async with MailQueue(tmp_path / "queue") as queue:
        assert [entry.queue_id for entry in await queue.entries()] == [queue_id]
        assert list(queue.incoming.iterdir()) == []


CHILD = r"""
import asyncio, sys, time
from pathlib import Path
from mailroom.queue import Envelope, EnvelopeRecipient, MailQueue

def message(n):
    lines = 40000 if n % 7 == 0 else 400  # some span several buffered flushes
    return f"Subject: {n}\r\n\r\n".encode() + f"line {n}\r\n".encode() * lines + b"END\r\n"

async def commit(queue, n):
    envelope = Envelope(sender="a@example.org", received_at=time.time(),
                        recipients=(EnvelopeRecipient("b@example.net", "b@example.net"),))
    writer = await queue.receive(envelope)
    data = message(n)
    for start in range(0, len(data), 4096):
        await writer.write(data[start:start + 4096])
    queue_id = await writer.commit()
    sys.stdout.write(f"{queue_id} {n}\n")
    sys.stdout.flush()

async def main():
    queue = MailQueue(Path(sys.argv[1]))
    await queue.open()
    round_, sessions = int(sys.argv[2]), 8
    async def session(first):
        n = first
        while True:
            await commit(queue, n)
            n += sessions
    await asyncio.gather(*(session(round_ * 1_000_000 + s) for s in range(sessions)))

asyncio.run(main())
"""


def expected_message(n: int) -> bytes:
    lines = 40000 if n % 7 == 0 else 400
    return f"Subject: {n}\r\n\r\n".encode() + f"line {n}\r\n".encode() * lines + b"END\r\n"


async def test_every_acknowledged_message_survives_sigkill(tmp_path: Path) -> None:
    directory = tmp_path / "queue"
    chance = random.Random()
    for round_ in range(3):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(directory),
            str(round_),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        kill_after = chance.randint(1, 60)
        printed: dict[str, int] = {}
        while len(printed) < kill_after:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            if not line:
                pytest.fail(f"the child died by itself: {(await child.stderr.read()).decode()}")
            queue_id, n = line.decode().split()
            printed[queue_id] = int(n)
        child.send_signal(signal.SIGKILL)
        # Ids printed before the kill but not yet read are acknowledged too.
        for rest in (await child.stdout.read()).decode().splitlines():
            queue_id, n = rest.split()
            printed[queue_id] = int(n)
        assert await child.wait() == -signal.SIGKILL

        async with MailQueue(directory) as queue:
            assert list(queue.incoming.iterdir()) == []
            found = {entry.queue_id: entry for entry in await queue.entries()}
            missing = set(printed) - set(found)
            assert not missing, f"round {round_}, killed after {kill_after}: lost {missing}"
            for queue_id, entry in found.items():
                content = queue.message_path(queue_id).read_bytes()
                # Committed but killed before printing is fine; incomplete is not.
                subject = content.split(b"\r\n", 1)[0].removeprefix(b"Subject: ")
                assert content == expected_message(int(subject)), queue_id
                assert entry.size == len(content)
                if queue_id in printed:
                    assert int(subject) == printed[queue_id]
