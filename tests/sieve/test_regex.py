"""regex (draft-ietf-sieve-regex): POSIX ERE, match variables, and the ReDoS bounds."""

from __future__ import annotations

import pytest

from mailroom.sieve import SieveLimits, check_script
from mailroom.sieve.actions import FileInto, Keep
from mailroom.sieve.regex_match import RegexRefused, compile_regex
from tests.support.sieve_world import deliver, message


def test_regex_match_variables() -> None:
    script = r"""require ["regex", "variables", "fileinto", "mailbox"];
    if exists "List-Id" {
      if header :regex "List-Id" "<([a-z_0-9-]+)[.@]" {
        set :lower "listname" "${1}";
        fileinto :create "Lists.${listname}";
      }
    }"""
    raw = message("List-Id: Users <Dovecot-Users.example.org>\n")
    assert deliver(script, raw).actions == (FileInto("Lists.dovecot-users", create=True),)


def test_regex_is_posix_and_case_follows_the_comparator() -> None:
    raw = message("Subject: Invoice 2024-11\n")
    casemap = r'require "regex"; if header :regex "subject" "^invoice [[:digit:]]{4}-" { discard; }'
    assert deliver(casemap, raw).log[-1].endswith("discard")
    octet = (
        r'require "regex"; if header :regex :comparator "i;octet" "subject" "^invoice" { discard; }'
    )
    assert deliver(octet, raw).actions == (Keep(implicit=True),)


def test_nested_repetition_is_refused_when_compiled() -> None:
    source = b'require "regex";\nif header :regex "subject" "(a+)+$" { discard; }'
    error = check_script(source, name="s", limits=SieveLimits())
    assert error is not None and error.line == 2 and "repeated group" in error.message


def test_a_pattern_from_a_variable_is_checked_at_run_time() -> None:
    script = (
        'require ["regex", "variables"];\nset "p" "(a|ab)*c";\n'
        'if header :regex "subject" "${p}" { discard; }'
    )
    outcome = deliver(script, message("Subject: aaaa\n"))
    assert outcome.failed is not None and "line 3" in outcome.failed


def test_polynomial_pattern_runs_on_a_cut_value() -> None:
    # Four unbounded repetitions: the value is cut so length**4 stays bounded; the run ends.
    raw = message("Subject: " + "a" * 5000 + "\n")
    script = 'require "regex"; if header :regex "subject" "a*a*a*a*b" { discard; }'
    assert deliver(script, raw).actions == (Keep(implicit=True),)


def test_a_bad_posix_pattern_is_refused() -> None:
    source = rb'require "regex"; if header :regex "subject" "\\d" { discard; }'
    error = check_script(source, name="s", limits=SieveLimits())
    assert error is not None and "regular expression" in error.message


def test_one_repetition_cuts_the_value_too() -> None:
    # Found by fuzz/harnesses/sieve_match.py: a search tries `.*x` at every position of
    # the value, so one repetition is quadratic (45 s on a 64 KiB header); the value is
    # cut so that length ** (repetitions + 1) stays within the bound.
    compiled = compile_regex("a.*x", True, 1024)
    assert compiled.input_limit**2 <= 10**7
    two = compile_regex(".*..*ab", False, 1024)
    assert two.input_limit**3 <= 10**7
    raw = message("Subject: " + "a" * 60_000 + "\n")
    script = 'require "regex"; if header :regex "subject" "a.*x" { discard; }'
    assert deliver(script, raw).actions == (Keep(implicit=True),)


def test_repetitions_a_fixed_count_repeats_are_refused() -> None:
    for pattern in ("(a.*){5}", "(a|ab){20}"):
        with pytest.raises(RegexRefused, match="inside a repeated group"):
            compile_regex(pattern, False, 1024)


def test_bounded_repetitions_that_multiply_are_refused() -> None:
    with pytest.raises(RegexRefused, match="bounded repetitions"):
        compile_regex("a{0,16}a{0,16}a{0,16}a{0,16}b", False, 1024)
    dotted_quad = compile_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", False, 1024)
    assert dotted_quad.input_limit >= 64 * 1024
