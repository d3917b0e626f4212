"""The author domain that DKIM signs for is read from whatever bytes a client sent:
never an exception, and a domain only when there is one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.delivery.outbound import author_domain


def test_the_author_domain_comes_from_the_from_header() -> None:
    message = b"Subject: x\r\nFrom: Alice <Alice@Example.ORG>\r\n\r\nFrom: evil@x.test\r\n"
    assert author_domain(message) == "example.org"


def test_a_message_without_from_has_no_author_domain() -> None:
    assert author_domain(b"Subject: x\r\n\r\nbody\r\n") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=80))
def test_hostile_messages_never_break_the_author_lookup(junk: bytes, sender: bytes) -> None:
    for message in (junk, b"From: " + sender + b"\r\n" + junk):
        domain = author_domain(message)
        assert domain is None or (domain == domain.strip().lower() and "@" not in domain)
