"""One queue, one owner, writers in worker processes: a worker's queue commits as the
owner's does and hands the id over; the owner adopts it (from the frame, or by looking
in active/ for the ids of a worker that ended). Two MailQueue objects on one directory
stand in for the two processes; the disk is real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.app.worker_queue import (
    QUEUED,
    adopt_left_behind,
    parse_queued,
    queued_frame,
    worker_slot,
)
from mailroom.queue import MailQueue, QueueInUse, new_queue_id, queue_id_slot, use_process_slot
from tests.support.queue_messages import body, queue_message


@pytest.fixture
def worker_ids() -> Iterator[int]:
    """Ids made in this test are worker 4's (slot 5); the process's own after."""
    slot = worker_slot(4)
    use_process_slot(slot)
    try:
        yield slot
    finally:
        use_process_slot(0)


async def test_a_workers_commit_is_handed_over_and_adopted(tmp_path: Path, worker_ids: int) -> None:
    async with MailQueue(tmp_path) as owner:
        told: list[str] = []
        writer = MailQueue(tmp_path)  # no lock: the owner holds it
        await writer.open_for_writing(told.append)
        queue_id = await queue_message(writer, body("from a worker"))
        assert told == [queue_id]
        assert queue_id_slot(queue_id) == worker_ids
        assert await writer.get(queue_id) is None  # the writer keeps nothing
        assert (tmp_path / "active" / f"{queue_id}.env").exists()

        entry = await owner.adopt(queue_id)
        assert entry is not None and entry.queue_id == queue_id
        assert await owner.adopt(queue_id) is entry  # a second frame changes nothing
        assert [due.queue_id for due in await owner.due()] == [queue_id]
        assert owner.message_path(queue_id).read_bytes() == body("from a worker")
        await writer.close()


async def test_what_a_worker_could_not_tell_is_adopted_when_it_ends(
    tmp_path: Path, worker_ids: int
) -> None:
    async with MailQueue(tmp_path) as owner:
        writer = MailQueue(tmp_path)
        await writer.open_for_writing(lambda queue_id: None)  # the frame is lost
        lost = [await queue_message(writer, body(f"lost {n}")) for n in range(3)]
        use_process_slot(0)
        own = await queue_message(owner, body("the owner's"))
        assert await adopt_left_behind(owner, worker_slot(3)) == 0  # another worker's slot
        assert await adopt_left_behind(owner, worker_ids) == 3
        assert await adopt_left_behind(owner, worker_ids) == 0
        assert sorted(entry.queue_id for entry in await owner.entries()) == sorted([*lost, own])
        await writer.close()


async def test_the_owner_adopts_nothing_that_is_not_committed(tmp_path: Path) -> None:
    async with MailQueue(tmp_path) as owner:
        assert await owner.adopt(new_queue_id()) is None
        assert await owner.adopt("../../etc/passwd") is None


async def test_a_second_owner_is_still_kept_out(tmp_path: Path) -> None:
    async with MailQueue(tmp_path):
        with pytest.raises(QueueInUse):
            await MailQueue(tmp_path).open()


def test_queue_ids_of_each_process_slot_differ() -> None:
    made = {}
    try:
        for slot in (0, 1, 2, 1023):
            use_process_slot(slot)
            made[slot] = {new_queue_id() for _ in range(2000)}
            assert {queue_id_slot(queue_id) for queue_id in made[slot]} == {slot}
    finally:
        use_process_slot(0)
    assert sum(map(len, made.values())) == len(set().union(*made.values()))
    with pytest.raises(ValueError):
        use_process_slot(1024)


@given(st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=20)))
def test_a_hostile_queued_frame_is_refused_or_names_a_queue_id(frame: dict[str, object]) -> None:
    try:
        queue_id = parse_queued({**frame, "k": QUEUED})
    except ValueError:
        return
    assert queue_id == frame["q"] and "/" not in queue_id and len(queue_id) == 13


def test_a_queued_frame_reads_back() -> None:
    queue_id = new_queue_id()
    assert parse_queued(queued_frame(queue_id)) == queue_id
