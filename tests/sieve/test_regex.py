"""regex (draft-ietf-sieve-regex): POSIX ERE, match variables, and the ReDoS bounds."""

from __future__ import annotations

from mailroom.sieve import SieveLimits, check_script
from mailroom.sieve.actions import FileInto, Keep
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
