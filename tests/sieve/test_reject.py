"""reject and ereject (RFC 5429), and what they cannot be combined with (§2.2)."""

from __future__ import annotations

import pytest

from mailroom.sieve.actions import Keep, Reject
from tests.support.sieve_world import deliver, message

MAIL = message("From: coyote@desert.example.org\nSubject: I have a present for you\n")


def test_reject_example_of_rfc5429() -> None:
    script = """require ["reject"];
    if header :contains "from" "coyote@desert.example.org" {
        reject text:
I am not taking mail from you, and I don't
want your birdseed, either!
.
;
    }"""
    outcome = deliver(script, MAIL)
    assert outcome.actions == (
        Reject("I am not taking mail from you, and I don't\nwant your birdseed, either!\n"),
    )


def test_ereject_is_marked_extended() -> None:
    outcome = deliver('require "ereject"; ereject "No thanks.";', MAIL)
    assert outcome.actions == (Reject("No thanks.", extended=True),)


@pytest.mark.parametrize(
    "script",
    [
        'require ["reject"]; keep; reject "no";',
        'require ["reject", "fileinto"]; reject "no"; fileinto "x";',
        'require ["reject"]; redirect "a@example.org"; reject "no";',
        'require ["reject", "ereject"]; reject "no"; ereject "no";',
    ],
)
def test_reject_with_a_delivering_action_fails_and_keeps(script: str) -> None:
    outcome = deliver(script, MAIL)
    assert outcome.failed is not None and "reject" in outcome.failed
    assert outcome.actions == (Keep(implicit=True),)


def test_reject_with_discard_is_allowed() -> None:
    assert deliver('require "reject"; reject "no"; discard;', MAIL).failed is None
