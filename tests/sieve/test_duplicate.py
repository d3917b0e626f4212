"""duplicate (RFC 7352): the tracked ID, handles, periods, :last, and one run's
consistent answers, against a small in-memory record like delivery's."""

from __future__ import annotations

from mailroom.sieve import check_script
from mailroom.sieve.actions import Discard, DuplicateMark, FileInto, Outcome
from mailroom.sieve.duplicate import (
    DuplicateChecks,
    DuplicatePeriods,
    DuplicateRequest,
    argument_errors,
    unique_id,
)
from tests.support.sieve_world import LIMITS, DuplicateRecord, deliver, message

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


# Scripts: RFC 7352's examples, with a record that keeps marks between deliveries.

MAIL = message("From: a@example.net\nSubject: ALERT: disk full\nMessage-ID: <abc@example.net>")


class Record(DuplicateRecord):
    """The delivery side: records an Outcome's marks once it succeeded."""

    def deliver(self, script: str, raw: bytes = MAIL) -> Outcome:
        outcome = deliver(script, raw, duplicates=self)
        if outcome.failed is None:
            self.seen_pairs.update((m.handle, m.value) for m in outcome.duplicate_marks)
        return outcome


def folders(outcome: Outcome) -> list[str]:
    return [a.folder for a in outcome.actions if isinstance(a, FileInto)]


def test_rfc7352_example_1_files_the_second_copy() -> None:
    script = """require ["duplicate", "fileinto", "mailbox"];
    if duplicate { fileinto :create "Trash/Duplicate"; }"""
    record = Record()
    assert folders(record.deliver(script)) == []
    assert folders(record.deliver(script)) == ["Trash/Duplicate"]


def test_rfc7352_example_2_uniqueid_from_a_variable() -> None:
    script = """require ["duplicate", "variables", "imap4flags", "fileinto"];
    if header :matches "subject" "ALERT: *" {
        if duplicate :seconds 60 :uniqueid "${1}" { setflag "\\\\seen"; }
        fileinto "Alerts";
    }"""
    record = Record()
    first = record.deliver(script)
    assert first.duplicate_marks == (DuplicateMark("", "disk full", 60),)
    (again,) = record.deliver(script).actions
    assert isinstance(again, FileInto) and again.flags == ("\\Seen",)


def test_rfc7352_three_equivalent_forms_share_one_entry() -> None:
    record = Record()
    record.deliver('require "duplicate"; if duplicate { discard; }')
    assert record.deliver('require "duplicate"; if duplicate :header "message-id" { discard; }')
    outcome = record.deliver(
        """require ["duplicate", "variables"];
        if header :matches "message-id" "*" {
            if duplicate :uniqueid "${0}" { discard; }
        }"""
    )
    assert outcome.actions == (Discard(),)


def test_a_failed_run_records_nothing() -> None:
    record = Record()
    outcome = record.deliver('require ["duplicate", "reject"]; if duplicate { } reject "x"; keep;')
    assert outcome.failed is not None and outcome.duplicate_marks == ()
    assert record.seen_pairs == set()


def test_header_and_uniqueid_together_are_refused() -> None:
    script = b'require "duplicate"; if duplicate :header "subject" :uniqueid "x" { discard; }'
    assert check_script(script, name="s", limits=LIMITS) is not None
    assert check_script(b"if duplicate { discard; }", name="s", limits=LIMITS) is not None
