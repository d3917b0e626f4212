"""Global before/after scripts around the member's own, as Pigeonhole runs them: the
next script runs only while the message is still kept."""

from __future__ import annotations

from mailroom.sieve.actions import Discard, FileInto, Keep
from tests.support.sieve_world import deliver, message

MAIL = message("From: a@example.org\nSubject: hi\nX-Spam: yes\n")


def test_a_before_script_that_files_the_message_ends_the_sequence() -> None:
    before = 'require "fileinto"; if exists "x-spam" { fileinto "Junk"; }'
    personal = 'require "fileinto"; fileinto "Personal";'
    assert deliver([before, personal], MAIL).actions == (FileInto("Junk"),)


def test_stop_ends_only_its_own_script() -> None:
    before = 'require "imap4flags"; addflag "$Checked"; stop;'
    personal = 'require "fileinto"; fileinto "Personal";'
    assert deliver([before, personal], MAIL).actions == (FileInto("Personal"),)


def test_only_the_last_scripts_implicit_keep_is_taken() -> None:
    before = "if false { discard; }"
    after = 'require "imap4flags"; addflag "$After";'
    assert deliver([before, "keep;", after], MAIL).actions == (Keep(("$After",)),)


def test_an_after_script_does_not_run_when_the_member_discarded() -> None:
    after = 'require "fileinto"; fileinto "Archive";'
    assert deliver(["discard;", after], MAIL).actions == (Discard(),)


def test_fileinto_copy_in_a_before_script_keeps_the_sequence_going() -> None:
    before = 'require ["fileinto", "copy"]; fileinto :copy "Archive";'
    assert deliver([before, "discard;"], MAIL).actions == (
        FileInto("Archive", copy=True),
        Discard(),
    )
