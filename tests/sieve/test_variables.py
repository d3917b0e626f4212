"""variables (RFC 5229): set and its modifiers, match variables, the string test."""

from __future__ import annotations

import pytest

from mailroom.sieve import SieveLimits
from mailroom.sieve.actions import FileInto, Keep
from tests.support.sieve_world import deliver, message


def test_match_variables_examples_of_section_3_2() -> None:
    script = """require ["fileinto", "variables"];
    if header :matches "List-ID" "*<*@*" { fileinto "INBOX.lists.${2}"; stop; }
    if header :matches "Subject" "[*] *" { fileinto "INBOX.lists.${1}"; stop; }
    if address :matches ["To", "Cc"] ["coyote@**.com", "wile@**.com"] {
        fileinto "INBOX.business.${2}"; stop;
    }"""
    lists = message("List-ID: Sieve discussion <sieve.ietf.org@example.org>\n")
    assert deliver(script, lists).actions == (FileInto("INBOX.lists.sieve.ietf.org"),)
    subject = message("Subject: [acme-users] [fwd] version 1.0 is out\n")
    assert deliver(script, subject).actions == (FileInto("INBOX.lists.acme-users"),)
    to = message("To: coyote@ACME.Example.COM\n")
    assert deliver(script, to).actions == (FileInto("INBOX.business.ACME.Example"),)


@pytest.mark.parametrize(
    ("modifiers", "value", "expected"),
    [
        (":upper", "Juliet", "JULIET"),
        (":lower :upperfirst", "JULIET", "Juliet"),
        (":upperfirst :lower", "JULIET", "Juliet"),
        (":lowerfirst", "JuLiEt", "juLiEt"),
        (":quotewildcard", "Rock*", "Rock\\*"),
        (":length", "juMBlEd lETteRS", "15"),
        (":length :upper", "ab", "2"),
    ],
)
def test_set_modifiers_of_section_4_1(modifiers: str, value: str, expected: str) -> None:
    script = f'require ["variables", "fileinto"]; set {modifiers} "a" "{value}"; fileinto "${{a}}";'
    assert deliver(script, message("Subject: x\n")).actions == (FileInto(expected),)


def test_names_are_case_insensitive_and_unknown_ones_are_empty() -> None:
    script = 'require ["variables", "fileinto"]; set "Name" "v"; fileinto "${NAME}-${none}-";'
    assert deliver(script, message("Subject: x\n")).actions == (FileInto("v--"),)


def test_string_test_and_its_count_of_non_empty_strings() -> None:
    script = """require ["variables", "relational", "comparator-i;ascii-numeric"];
    set "a" ""; set "b" "x";
    if string :count "eq" :comparator "i;ascii-numeric" ["${a}", "${b}"] "1" { discard; }"""
    assert deliver(script, message("Subject: x\n")).log[-1].endswith("discard")


def test_values_are_cut_to_the_variable_size_limit() -> None:
    script = 'require ["variables", "fileinto"]; set "a" "abcdef"; fileinto "${a}";'
    limits = SieveLimits(max_variable_size=3)
    assert deliver(script, message("Subject: x\n"), limits=limits).actions == (FileInto("abc"),)


def test_too_many_variables_fail_the_run() -> None:
    sets = " ".join(f'set "v{i}" "x";' for i in range(5))
    outcome = deliver(
        f'require "variables"; {sets}', message("S: x\n"), limits=SieveLimits(max_variables=4)
    )
    assert outcome.failed is not None and "more than 4 variables" in outcome.failed
    assert outcome.actions == (Keep(implicit=True),)


def test_without_require_a_reference_is_plain_text() -> None:
    script = 'require "fileinto"; fileinto "${x}";'
    assert deliver(script, message("Subject: x\n")).actions == (FileInto("${x}"),)
