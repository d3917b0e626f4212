"""Queue ids: short, unique, safe as file names, roughly in order of arrival."""

from __future__ import annotations

import time

import pytest

from mailroom.queue import is_queue_id, new_queue_id
from mailroom.queue.ids import LENGTH, queue_id_time


def test_ids_are_unique_and_shaped_like_ids() -> None:
    ids = {new_queue_id() for _ in range(20000)}
    assert len(ids) == 20000
    assert all(is_queue_id(queue_id) and len(queue_id) == LENGTH for queue_id in ids)


def test_ids_made_one_after_another_sort_in_that_order() -> None:
    ids = [new_queue_id() for _ in range(5000)]
    assert ids == sorted(ids)


def test_an_id_tells_when_it_was_made() -> None:
    before = time.time()
    made = queue_id_time(new_queue_id())
    assert before - 0.001 <= made <= time.time()


@pytest.mark.parametrize(
    "text",
    ["", "../../etc/pass", "0J8ZQ3M1QX4T", "0J8ZQ3M1QX4TBB", "0j8zq3m1qx4tb", "0J8ZQ3M1QX4T/"],
)
def test_anything_else_is_not_an_id(text: str) -> None:
    assert not is_queue_id(text)
