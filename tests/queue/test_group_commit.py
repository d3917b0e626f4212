"""Group commit: many sessions committing at once share fsyncs, and every one of
them is still durable and told only after its own rename was synced."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mailroom.queue import CommitFailed, GroupCommitter, MailQueue
from mailroom.queue.group_commit import DurableRename, SharedDirectorySync
from tests.support.queue_messages import body, envelope


async def test_fifty_sessions_committing_together_all_get_durable_distinct_ids(
    tmp_path: Path,
) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        writers = [await queue.receive(envelope()) for _ in range(50)]
        for n, writer in enumerate(writers):
            await writer.write(body(f"message {n}"))

        ids = await asyncio.gather(*(writer.commit() for writer in writers))

        assert len(set(ids)) == 50

    async with MailQueue(tmp_path / "queue") as reopened:
        assert sorted(entry.queue_id for entry in await reopened.entries()) == sorted(ids)
        for n, queue_id in enumerate(ids):
            assert reopened.message_path(queue_id).read_bytes() == body(f"message {n}")


async def test_three_hundred_sessions_each_get_a_durable_message(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:

        async def session(n: int) -> str:
            async with await queue.receive(envelope()) as writer:
                await writer.write(body(f"message {n}"))
                return await writer.commit()

        ids = await asyncio.gather(*(session(n) for n in range(300)))

        assert len(set(ids)) == 300
        assert len(await queue.entries()) == 300

    async with MailQueue(tmp_path / "queue") as reopened:
        assert sorted(entry.queue_id for entry in await reopened.entries()) == sorted(ids)


async def test_without_group_commit_every_message_is_durable_too(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue", group_commit=False) as queue:
        writers = [await queue.receive(envelope()) for _ in range(20)]
        for writer in writers:
            await writer.write(body())
        ids = await asyncio.gather(*(writer.commit() for writer in writers))
        assert queue.committer.batches == 0

    async with MailQueue(tmp_path / "queue") as reopened:
        assert sorted(entry.queue_id for entry in await reopened.entries()) == sorted(ids)


async def test_one_failing_change_fails_alone(tmp_path: Path) -> None:
    committer = GroupCommitter()
    renamed: list[str] = []

    def change(name: str, sync_fails: bool = False) -> DurableRename:
        def sync() -> None:
            if sync_fails:
                raise OSError(28, "No space left on device")

        return DurableRename([sync], lambda: renamed.append(name), tmp_path)

    outcomes = await asyncio.gather(
        committer.run(change("first")),
        committer.run(change("second", sync_fails=True)),
        committer.run(change("third")),
        return_exceptions=True,
    )
    await committer.close()

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], OSError)
    assert renamed == ["first", "third"]  # a change whose sync failed is never renamed


def test_renames_made_while_the_directory_syncs_share_the_next_sync(tmp_path: Path) -> None:
    first_syncing, let_first_finish = threading.Event(), threading.Event()
    synced: list[Path] = []

    def slow_first_sync(directory: Path) -> None:
        if not synced:
            first_syncing.set()
            let_first_finish.wait()
        synced.append(directory)

    shared = SharedDirectorySync(tmp_path, sync=slow_first_sync)
    with ThreadPoolExecutor(4) as threads:
        first = threads.submit(shared.wait_durable, shared.renamed())
        first_syncing.wait()
        # Three more renames while the leader's fsync is under way.
        others = [threads.submit(shared.wait_durable, shared.renamed()) for _ in range(3)]
        let_first_finish.set()
        for waiter in [first, *others]:
            waiter.result()

    assert shared.syncs == 2
    assert synced == [tmp_path, tmp_path]


def test_a_failed_directory_sync_is_reported_to_every_rename_it_covered(tmp_path: Path) -> None:
    def failing_sync(directory: Path) -> None:
        raise OSError(5, "Input/output error")

    shared = SharedDirectorySync(tmp_path, sync=failing_sync)
    with pytest.raises(OSError, match="Input/output error"):
        shared.wait_durable(shared.renamed())


async def test_a_commit_the_disk_refuses_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        writer = await queue.receive(envelope())
        await writer.write(body())
        # The envelope cannot be written: its name is taken by a directory.
        os.mkdir(queue.incoming / f"{writer.queue_id}.env")

        with pytest.raises(CommitFailed, match=f"{writer.queue_id}: could not store the message"):
            await writer.commit()

        assert await queue.entries() == []
        assert list(queue.active.iterdir()) == []
        assert [p.name for p in queue.incoming.iterdir()] == [f"{writer.queue_id}.env"]


async def test_a_cancelled_session_does_not_keep_its_committed_message_from_the_queue(
    tmp_path: Path,
) -> None:
    async with MailQueue(tmp_path / "queue") as queue:
        writer = await queue.receive(envelope())
        await writer.write(body())
        commit = asyncio.create_task(writer.commit())
        await asyncio.sleep(0)  # the commit is handed over
        commit.cancel()
        with pytest.raises(asyncio.CancelledError):
            await commit

        await asyncio.wait_for(queue.wait_for_work(), timeout=10)
        assert [entry.queue_id for entry in await queue.entries()] == [writer.queue_id]
