"""duplicate (RFC 7352): the tracked ID, handles, periods, :last, and one run's
consistent answers, against a small in-memory record like delivery's."""

from __future__ import annotations

from mailroom.sieve.actions import DuplicateMark
from mailroom.sieve.duplicate import (
    DuplicateChecks,
    DuplicatePeriods,
    DuplicateRequest,
    argument_errors,
    unique_id,
)

PERIODS = DuplicatePeriods(default=7 * 86400, maximum=14 * 86400)


class Memory:
    """What delivery keeps across deliveries: (handle, value) pairs recorded after a
    successful delivery, and the questions asked, to show they are asked once."""

    def __init__(self, *seen: tuple[str, str]) -> None:
        self.recorded = set(seen)
        self.asked: list[tuple[str, str]] = []

    def seen(self, handle: str, value: str) -> bool:
        self.asked.append((handle, value))
        return (handle, value) in self.recorded

    def record(self, marks: tuple[DuplicateMark, ...]) -> None:
        self.recorded.update((m.handle, m.value) for m in marks)


MESSAGE_ID = [b" <abc@example.net>\r\n "]


def test_first_delivery_is_not_a_duplicate_and_is_marked() -> None:
    memory = Memory()
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(), MESSAGE_ID) is False
    assert checks.marks() == (DuplicateMark("", "<abc@example.net>", 7 * 86400),)


def test_second_delivery_after_recording_is_a_duplicate() -> None:
    memory = Memory()
    first = DuplicateChecks(memory, PERIODS)
    first.test(DuplicateRequest(), MESSAGE_ID)
    memory.record(first.marks())  # delivery succeeded
    second = DuplicateChecks(memory, PERIODS)
    assert second.test(DuplicateRequest(), MESSAGE_ID) is True
    # Without :last the entry's period runs from its creation: no new mark.
    assert second.marks() == ()


def test_last_refreshes_the_mark_on_every_check() -> None:
    memory = Memory(("", "<abc@example.net>"))
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(last=True), MESSAGE_ID) is True
    assert checks.marks() == (DuplicateMark("", "<abc@example.net>", 7 * 86400),)


def test_one_run_answers_the_same_every_time() -> None:
    # RFC 7352 §3: IDs of the current run are not duplicates; identical tests agree.
    memory = Memory()
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(), MESSAGE_ID) is False
    assert checks.test(DuplicateRequest(), MESSAGE_ID) is False
    assert memory.asked == [("", "<abc@example.net>")]
    assert len(checks.marks()) == 1


def test_handles_keep_tests_apart() -> None:
    memory = Memory(("alerts", "<abc@example.net>"))
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(handle="alerts"), MESSAGE_ID) is True
    assert checks.test(DuplicateRequest(handle="other"), MESSAGE_ID) is False


def test_the_id_is_the_same_whatever_its_source() -> None:
    # RFC 7352 §3's three equivalent examples.
    by_default = unique_id(DuplicateRequest(), MESSAGE_ID)
    by_header = unique_id(DuplicateRequest(header="message-id"), MESSAGE_ID)
    by_value = unique_id(DuplicateRequest(uniqueid="<abc@example.net>"), [])
    assert by_default == by_header == by_value == "<abc@example.net>"


def test_header_values_are_decoded_and_ids_are_case_sensitive() -> None:
    assert unique_id(DuplicateRequest(header="Subject"), [b"=?utf-8?q?ALERT:_disk?="]) == (
        "ALERT: disk"
    )
    memory = Memory(("", "ABC"))
    assert DuplicateChecks(memory, PERIODS).test(DuplicateRequest(uniqueid="abc"), []) is False


def test_missing_field_or_invalid_name_is_false_without_a_mark() -> None:
    memory = Memory()
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(), []) is False
    assert checks.test(DuplicateRequest(header="bad name:"), [b"x"]) is False
    assert checks.marks() == () and memory.asked == []


def test_seconds_zero_is_false_unconditionally() -> None:
    memory = Memory(("", "<abc@example.net>"))
    checks = DuplicateChecks(memory, PERIODS)
    assert checks.test(DuplicateRequest(seconds=0), MESSAGE_ID) is False
    assert checks.marks() == ()


def test_seconds_above_the_maximum_are_silently_lowered() -> None:
    checks = DuplicateChecks(Memory(), PERIODS)
    checks.test(DuplicateRequest(seconds=10**9, uniqueid="x"), [])
    checks.test(DuplicateRequest(seconds=60, uniqueid="y"), [])
    assert [m.period_seconds for m in checks.marks()] == [14 * 86400, 60]


def test_header_and_uniqueid_exclude_each_other() -> None:
    assert argument_errors(DuplicateRequest(header="Subject", uniqueid="x"))
    assert argument_errors(DuplicateRequest(seconds=-1))
    assert argument_errors(DuplicateRequest(header="not valid")) == []
