"""relational (RFC 5231): :count and :value with each relation."""

from __future__ import annotations

import pytest

from mailroom.sieve.actions import Discard, Keep
from tests.support.sieve_world import deliver, message

# RFC 5231 §6's message.
MAIL = message(
    "Received: ...\nReceived: ...\nSubject: example\nTo: foo@example.com, baz@example.com\n"
    "CC: qux@example.com\n"
)
NUMERIC = 'require ["relational", "comparator-i;ascii-numeric"];\n'


@pytest.mark.parametrize(
    ("test", "result"),
    [
        ('address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]', True),
        ('header :count "ge" :comparator "i;ascii-numeric" ["received"] ["3"]', False),
        ('header :count "ge" :comparator "i;ascii-numeric" ["received", "subject"] ["3"]', True),
        ('header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]', False),
        ('address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"]', False),
        ('header :value "lt" "subject" "f"', True),
        ('header :value "ne" "subject" "example"', False),
        ('header :value "eq" "subject" "EXAMPLE"', True),
        ('header :value "le" "subject" "example"', True),
    ],
)
def test_examples_of_rfc5231(test: str, result: bool) -> None:
    outcome = deliver(NUMERIC + f"if {test} {{ discard; }}", MAIL)
    assert outcome.actions == ((Discard(),) if result else (Keep(implicit=True),))
