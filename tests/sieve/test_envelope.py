"""envelope (RFC 5228 §5.4) and subaddress (RFC 5233) on envelope and headers."""

from __future__ import annotations

from mailroom.sieve.actions import Discard, FileInto, Keep
from tests.support.sieve_world import deliver, message

MAIL = message("From: coyote@desert.example.org\nTo: ken+sieve@example.org\n")


def test_envelope_from_and_to() -> None:
    # RFC 5228 §5.4's example.
    script = """require "envelope";
    if envelope :all :is "from" "tim@example.com" { discard; }"""
    assert deliver(script, MAIL, sender="tim@example.com").actions == (Discard(),)
    assert deliver(script, MAIL).actions == (Keep(implicit=True),)
    to = 'require "envelope"; if envelope :domain :is "to" "acme.example.com" { discard; }'
    assert deliver(to, MAIL).actions == (Discard(),)


def test_null_sender_is_the_empty_string() -> None:
    script = 'require "envelope"; if envelope :is "from" "" { discard; }'
    assert deliver(script, MAIL, sender="").actions == (Discard(),)


def test_unknown_envelope_part_is_refused() -> None:
    from mailroom.sieve import SieveLimits, check_script

    error = check_script(
        b'require "envelope"; if envelope "nope" "x" { keep; }', name="s", limits=SieveLimits()
    )
    assert error is not None and "envelope part" in error.message


def test_subaddress_examples_of_rfc5233() -> None:
    # RFC 5233 §6's example.
    script = """require ["envelope", "subaddress", "fileinto"];
    if envelope :user "to" "postmaster" { fileinto "inbox.postmaster"; stop; }
    if envelope :detail "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; stop; }
    if envelope :detail "to" "" { fileinto "inbox.detail-but-empty"; stop; }
    if address :contains :detail "to" "sieve" { fileinto "inbox.sieve"; stop; }
    """
    outcome = deliver(script, MAIL, recipient="ken+mta-filters@example.org", detail="mta-filters")
    assert outcome.actions == (FileInto("inbox.ietf-mta-filters"),)
    assert deliver(script, MAIL, recipient="postmaster+x@example.org", detail="x").actions == (
        FileInto("inbox.postmaster"),
    )
    assert deliver(script, MAIL, recipient="ken+@example.org", detail="").actions == (
        FileInto("inbox.detail-but-empty"),
    )


def test_detail_of_an_address_without_one_does_not_match() -> None:
    script = 'require "subaddress"; if address :detail :matches "from" "*" { discard; }'
    assert deliver(script, MAIL).actions == (Keep(implicit=True),)
    assert deliver(script, message("From: a+b@example.org\n")).actions == (Discard(),)
