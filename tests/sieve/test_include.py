"""include (RFC 6609): personal and global scripts, :once, :optional, return, global."""

from __future__ import annotations

from mailroom.sieve import SieveLimits, check_script
from mailroom.sieve.actions import FileInto, Keep
from tests.support.sieve_world import ScriptShelf, deliver, message

MAIL = message("From: boss@example.com\nSubject: hi\n")


def test_rfc6609_global_variables_example() -> None:
    # RFC 6609 §3.5's example (names shortened).
    shelf = ScriptShelf(
        personal={
            "spam_tests": b"""require ["variables", "include", "relational",
                                      "comparator-i;ascii-numeric"];
            global "test_mailbox";
            set "test_mailbox" "spam-${test_mailbox}";
            if header :value "gt" :comparator "i;ascii-numeric" "X-Spam-Score" "5" { return; }
            set "test_mailbox" "clean";""",
        }
    )
    script = """require ["fileinto", "variables", "include"];
    global "test_mailbox";
    set "test_mailbox" "low";
    include :personal "spam_tests";
    fileinto "${test_mailbox}";"""
    spam = message("X-Spam-Score: 8\n")
    assert deliver(script, spam, shelf=shelf).actions == (FileInto("spam-low"),)
    assert deliver(script, MAIL, shelf=shelf).actions == (FileInto("clean"),)


def test_global_scope_and_once() -> None:
    shelf = ScriptShelf(global_={"tag": b'require "imap4flags"; addflag "$Tagged";'})
    script = 'require "include"; include :global "tag"; include :global :once "tag";'
    outcome = deliver(script, MAIL, shelf=shelf)
    assert outcome.actions == (Keep(("$Tagged",), implicit=True),)
    assert shelf.loads == ["global:tag"]


def test_optional_missing_script_is_skipped_and_required_one_fails() -> None:
    assert deliver('require "include"; include :optional "none";', MAIL).failed is None
    failed = deliver('require "include";\ninclude "none";', MAIL).failed
    assert failed == "script1: line 2: personal script 'none' does not exist"


def test_recursion_is_refused() -> None:
    shelf = ScriptShelf(
        personal={"a": b'require "include"; include "b";', "b": b'require "include"; include "a";'}
    )
    outcome = deliver('require "include"; include "a";', MAIL, shelf=shelf)
    assert outcome.failed is not None and "includes itself" in outcome.failed
    assert outcome.actions == (Keep(implicit=True),)


def test_depth_limit() -> None:
    shelf = ScriptShelf(
        personal={f"s{i}": f'require "include"; include "s{i + 1}";'.encode() for i in range(20)}
    )
    outcome = deliver(
        'require "include"; include "s0";',
        MAIL,
        shelf=shelf,
        limits=SieveLimits(max_include_depth=3),
    )
    assert outcome.failed is not None and "deeper than 3" in outcome.failed


def test_an_included_script_that_does_not_compile_fails_the_run() -> None:
    shelf = ScriptShelf(personal={"bad": b"frob;"})
    outcome = deliver('require "include"; include "bad";', MAIL, shelf=shelf)
    assert outcome.failed is not None and "bad: line 1: unknown command" in outcome.failed


def test_stop_in_an_included_script_ends_everything() -> None:
    shelf = ScriptShelf(personal={"s": b"stop;"})
    script = 'require ["include", "fileinto"]; include "s"; fileinto "never";'
    assert deliver(script, MAIL, shelf=shelf).actions == (Keep(implicit=True),)


def test_script_names_with_a_slash_are_refused() -> None:
    error = check_script(b'require "include"; include "../x";', name="s", limits=SieveLimits())
    assert error is not None and "script name" in error.message
