"""imap4flags (RFC 5232): the internal variable, named variables, :flags, hasflag."""

from __future__ import annotations

from mailroom.sieve.actions import FileInto, Keep
from tests.support.sieve_world import deliver, message

MAIL = message("From: boss@example.com\nSubject: urgent\nX-Spam-Score: 9\n")


def test_rfc5232_example_1() -> None:
    # RFC 5232 §7 (example 1), cut to its first rule.
    script = r"""require ["fileinto", "imap4flags"];
    if header :contains "from" "boss@example.com" {
        setflag "\\Flagged";
        fileinto "INBOX.From Boss";
    }"""
    assert deliver(script, MAIL).actions == (FileInto("INBOX.From Boss", ("\\Flagged",)),)


def test_addflag_removeflag_and_implicit_keep_takes_the_internal_variable() -> None:
    script = r"""require "imap4flags";
    addflag ["\\Seen", "$Junk \\Answered"]; addflag "$junk"; removeflag "\\Answered";"""
    assert deliver(script, MAIL).actions == (Keep(("\\Seen", "$Junk"), implicit=True),)


def test_flags_argument_overrides_the_internal_variable() -> None:
    script = r"""require ["imap4flags", "fileinto"];
    setflag "\\Seen"; keep :flags "$Important"; fileinto "x";"""
    assert deliver(script, MAIL).actions == (Keep(("$Important",)), FileInto("x", ("\\Seen",)))


def test_invalid_flags_are_left_out() -> None:
    script = r'require "imap4flags"; setflag ["\\Recent \\Bogus ok", "bad(flag"];'
    assert deliver(script, MAIL).actions == (Keep(("ok",), implicit=True),)


def test_hasflag_and_named_variables() -> None:
    script = r"""require ["imap4flags", "variables", "fileinto"];
    setflag "mine" "\\Seen $A";
    if hasflag :is "mine" "$a" { fileinto "has"; }
    if hasflag "\\Seen" { fileinto "internal"; }"""
    assert deliver(script, MAIL).actions == (FileInto("has"),)  # the internal one is empty


def test_hasflag_count() -> None:
    script = r"""require ["imap4flags", "relational", "comparator-i;ascii-numeric", "fileinto"];
    addflag "a b c";
    if hasflag :count "ge" :comparator "i;ascii-numeric" "3" { fileinto "three"; }"""
    assert deliver(script, MAIL).actions == (FileInto("three", ("a", "b", "c")),)
