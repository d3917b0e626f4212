"""The per-account Sieve memory: vacation answers once per sender and handle within the
period (RFC 5230 §4.2), duplicate marks (RFC 7352), across reopening (a restart), with
expired and excess rows dropped, and a broken file moved aside."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.delivery.sieve_memory import FILE_NAME, SieveMemory

DAY = 86400


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_sender_is_answered_once_within_the_period(tmp_path: Path) -> None:
    clock = Clock()
    with SieveMemory(tmp_path, clock=clock) as memory:
        assert memory.claim_vacation("away", "carol@example.net", 7 * DAY)
        assert not memory.claim_vacation("away", "carol@example.net", 7 * DAY)
        assert not memory.claim_vacation("away", "CAROL@example.NET", 7 * DAY)
        assert memory.claim_vacation("away", "dave@example.net", 7 * DAY)
        assert memory.claim_vacation("other-handle", "carol@example.net", 7 * DAY)


def test_the_answer_is_due_again_once_the_period_is_over(tmp_path: Path) -> None:
    clock = Clock()
    with SieveMemory(tmp_path, clock=clock) as memory:
        assert memory.claim_vacation("away", "carol@example.net", DAY)
        clock.now += DAY - 1
        assert not memory.claim_vacation("away", "carol@example.net", DAY)
        clock.now += 1
        assert memory.claim_vacation("away", "carol@example.net", DAY)


def test_the_memory_survives_reopening(tmp_path: Path) -> None:
    clock = Clock()
    with SieveMemory(tmp_path, clock=clock) as memory:
        assert memory.claim_vacation("away", "carol@example.net", DAY)
        memory.mark("msgid", "<1@example.net>", DAY)
    with SieveMemory(tmp_path, clock=clock) as memory:
        assert not memory.claim_vacation("away", "carol@example.net", DAY)
        assert memory.seen("msgid", "<1@example.net>")
    assert (tmp_path / FILE_NAME).is_file()


def test_a_released_claim_is_claimed_again(tmp_path: Path) -> None:
    with SieveMemory(tmp_path, clock=Clock()) as memory:
        assert memory.claim_vacation("away", "carol@example.net", DAY)
        memory.release_vacation("away", "carol@example.net")
        assert memory.claim_vacation("away", "carol@example.net", DAY)


def test_a_period_of_zero_answers_every_time(tmp_path: Path) -> None:
    with SieveMemory(tmp_path, clock=Clock()) as memory:
        assert memory.claim_vacation("away", "carol@example.net", 0)
        assert memory.claim_vacation("away", "carol@example.net", 0)


def test_a_duplicate_mark_expires_after_its_period_and_a_new_mark_restarts_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with SieveMemory(tmp_path, clock=clock) as memory:
        assert not memory.seen("h", "v")
        memory.mark("h", "v", 10)
        clock.now += 5
        memory.mark("h", "v", 10)  # RFC 7352 :last
        clock.now += 9
        assert memory.seen("h", "v")
        clock.now += 1
        assert not memory.seen("h", "v")


def test_the_file_is_bounded_by_expiry_and_by_row_count(tmp_path: Path) -> None:
    clock = Clock()
    with SieveMemory(tmp_path, clock=clock, max_rows=10) as memory:
        for number in range(25):
            clock.now += 1
            memory.mark("h", str(number), 1000 + number)
        rows = _rows(tmp_path)
        assert rows == 10
        assert memory.seen("h", "24") and not memory.seen("h", "0")
        clock.now += 5000
        memory.mark("h", "late", 10)
        assert _rows(tmp_path) == 1


def test_a_broken_file_is_moved_aside_and_started_afresh(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with SieveMemory(tmp_path, clock=Clock()) as memory:
        assert memory.claim_vacation("away", "carol@example.net", DAY)
    assert any(p.name.startswith(f"{FILE_NAME}.broken-") for p in tmp_path.iterdir())


def test_an_unusable_memory_sends_no_vacation_reply(tmp_path: Path) -> None:
    # A directory where the file should be: SQLite cannot open it.
    (tmp_path / FILE_NAME).mkdir()
    with SieveMemory(tmp_path, clock=Clock()) as memory:
        assert not memory.claim_vacation("away", "carol@example.net", DAY)
        assert not memory.seen("h", "v")


def test_racing_deliveries_answer_a_sender_once(tmp_path: Path) -> None:
    with SieveMemory(tmp_path, clock=Clock()) as first:
        first.mark("warm", "up", 1)  # the schema exists before the race
    results: list[bool] = []
    start = threading.Barrier(8)

    def deliver() -> None:
        with SieveMemory(tmp_path, clock=Clock()) as memory:
            start.wait()
            results.append(memory.claim_vacation("away", "carol@example.net", DAY))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


@settings(max_examples=50, deadline=None)
@given(handle=st.text(max_size=2000), value=st.text(max_size=2000))
def test_any_handle_and_value_are_remembered_in_a_row_of_fixed_size(
    handle: str, value: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        with SieveMemory(root, clock=Clock()) as memory:
            memory.mark(handle, value, DAY)
            assert memory.seen(handle, value)
            assert not memory.seen(handle, value + "x")
        with sqlite3.connect(root / FILE_NAME) as db:
            (length,) = db.execute("SELECT max(length(key)) FROM memory").fetchone()
        assert length == 32


def _rows(directory: Path) -> int:
    with sqlite3.connect(directory / FILE_NAME) as db:
        (count,) = db.execute("SELECT count(*) FROM memory").fetchone()
    return int(count)
