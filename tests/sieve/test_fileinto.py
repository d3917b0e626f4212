"""fileinto (RFC 5228 §4.1), copy (RFC 3894) and mailbox (RFC 5490)."""

from __future__ import annotations

from mailroom.sieve import SieveLimits, check_script
from mailroom.sieve.actions import FileInto, Keep, Redirect
from tests.support.sieve_world import deliver, message

MAIL = message("From: owner-ietf-mta-filters@imc.org\nSubject: sieve\n")


def test_fileinto_cancels_implicit_keep() -> None:
    # RFC 5228 §4.1's example.
    script = (
        'require "fileinto";\n'
        'if header :contains ["from"] "owner-ietf-mta-filters@imc.org" {\n'
        ' fileinto "INBOX.sieve";\n}'
    )
    assert deliver(script, MAIL).actions == (FileInto("INBOX.sieve"),)


def test_copy_keeps_implicit_keep() -> None:
    # RFC 3894 §3's example.
    script = (
        'require ["copy", "fileinto"];\n'
        'fileinto :copy "incoming";\nredirect :copy "archive@example.net";'
    )
    outcome = deliver(script, MAIL)
    assert outcome.actions == (
        FileInto("incoming", copy=True),
        Redirect("archive@example.net", copy=True),
        Keep(implicit=True),
    )


def test_copy_needs_require() -> None:
    source = b'require "fileinto"; fileinto :copy "x";'
    error = check_script(source, name="s", limits=SieveLimits())
    assert error is not None and 'require "copy"' in error.message


def test_fileinto_create_and_mailboxexists() -> None:
    # RFC 5490 §3.1's example shape: file into a folder only if it exists.
    script = """require ["fileinto", "mailbox"];
    if mailboxexists "Partners" { fileinto "Partners"; }
    else { fileinto :create "Partners.new"; }"""
    assert deliver(script, MAIL, folders=("INBOX", "Partners")).actions == (FileInto("Partners"),)
    assert deliver(script, MAIL).actions == (FileInto("Partners.new", create=True),)


def test_mailboxexists_needs_every_mailbox() -> None:
    script = 'require ["mailbox"]; if mailboxexists ["A", "B"] { discard; }'
    assert deliver(script, MAIL, folders=("A",)).actions == (Keep(implicit=True),)
