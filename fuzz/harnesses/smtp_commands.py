"""SMTP command lines (`mailroom.smtp.commands.parse_command`, and through it
`smtp.paths` and `smtp.xtext`).

The input is one command line as a client sends it, parsed in all four dialects
(SMTPUTF8 transaction or not, SMTP or LMTP). Contract: a command, or `SmtpError` whose
reply is a 5xx that encodes as well-formed SMTP reply lines. A crash: any other
exception, a reply that is not 5xx or breaks the line format, a command whose `bare_lf`
does not say how the line ended, a path whose domain is not ASCII (or, unless an
address literal, not lower-case), an RCPT with the null path, a BDAT size past the
module's bound.
"""

from __future__ import annotations

from mailroom.smtp.commands import MAX_SIZE_VALUE, Bdat, Mail, Rcpt, parse_command
from mailroom.smtp.replies import MAX_REPLY_LINE, SmtpError, SmtpReply

MAX_LENGTH = 4096
"""Longer than any line limit the sessions use (512, or more for AUTH's base64)."""
_checked: set[SmtpReply] = set()
"""Replies already checked: most are the module's constants, and encoding each of them
four times per input would be most of the harness's time."""


def _check_reply(reply: SmtpReply) -> None:
    if reply in _checked:
        return
    if len(_checked) < 10_000:
        _checked.add(reply)
    assert 500 <= reply.code <= 599, reply
    for enhanced in (True, False):
        for utf8 in (True, False):
            wire = reply.encode(enhanced, utf8=utf8)
            assert wire.endswith(b"\r\n"), wire
            for line in wire[:-2].split(b"\r\n"):
                assert len(line) + 2 <= MAX_REPLY_LINE, wire
                assert b"\r" not in line and b"\n" not in line, wire
                assert line[:3] == str(reply.code).encode(), wire


def one_input(data: bytes) -> None:
    for smtputf8 in (False, True):
        for lmtp in (False, True):
            try:
                command = parse_command(data, max_length=MAX_LENGTH, smtputf8=smtputf8, lmtp=lmtp)
            except SmtpError as error:
                _check_reply(error.reply)
                continue
            assert command.bare_lf == (not data.endswith(b"\r\n")), command
            if isinstance(command, Mail | Rcpt):
                domain = command.path.domain
                assert domain.isascii(), command
                # An address literal keeps its case (`[IPv6:…]`); a name is lower-case.
                assert command.path.is_literal or domain == domain.lower(), command
            if isinstance(command, Rcpt):
                assert not command.path.is_null, command
            if isinstance(command, Bdat):
                assert 0 <= command.size <= MAX_SIZE_VALUE, command
