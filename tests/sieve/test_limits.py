"""Run-time limits: steps, actions, redirects; each stops the run with the message kept
(RFC 5228 §2.10.6) and says which script and line."""

from __future__ import annotations

from mailroom.sieve import SieveLimits
from mailroom.sieve.actions import Keep
from tests.support.sieve_world import deliver, message

MAIL = message("From: a@example.org\nSubject: hi\n")


def test_step_budget_stops_a_runaway_script() -> None:
    tests = " ".join('header :contains "subject" "x",' for _ in range(200))
    script = ("if anyof(" + tests + " false) { discard; }\n") * 50
    outcome = deliver(script, MAIL, limits=SieveLimits(max_steps=5000))
    assert outcome.actions == (Keep(implicit=True),)
    assert outcome.failed is not None and "more than 5000 steps" in outcome.failed


def test_too_many_actions() -> None:
    script = 'require "fileinto";\n' + "".join(f'fileinto "f{i}";\n' for i in range(10))
    outcome = deliver(script, MAIL, limits=SieveLimits(max_actions=5))
    assert outcome.failed == "script1: line 7: more than 5 actions"
    assert outcome.actions == (Keep(implicit=True),)


def test_too_many_redirects() -> None:
    script = "".join(f'redirect "r{i}@example.org";\n' for i in range(3))
    outcome = deliver(script, MAIL, limits=SieveLimits(max_redirects=2))
    assert outcome.failed == "script1: line 3: more than 2 redirects"


def test_expanded_strings_are_bounded() -> None:
    script = (
        'require ["variables", "fileinto"]; set "a" "xxxxxxxxxx";\n'
        + ('set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";\n' * 8)
        + 'set :length "n" "${a}"; fileinto "${n}";'
    )
    limits = SieveLimits(max_variable_size=10**9, max_expanded_string=100_000)
    outcome = deliver(script, MAIL, limits=limits)
    assert outcome.failed is None
    assert outcome.actions[0].folder == "100000"  # type: ignore[union-attr]
