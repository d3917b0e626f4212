"""POP3 command lines (`mailroom.pop3.commands.parse_command`, RFC 1939, 2449, 5034).

The input is one line as the session reads it, without its CRLF. Contract: a command,
or `CommandError` (a `Pop3Error`) whose reply is one ASCII line. A crash: any other
exception, a message number outside 1..2**31-1, a user name or password holding what
the grammar forbids.
"""

from __future__ import annotations

from mailroom.pop3.commands import (
    MAX_NUMBER,
    Dele,
    List,
    Pass,
    Retr,
    Top,
    Uidl,
    User,
    parse_command,
)
from mailroom.pop3.replies import Pop3Error


def one_input(data: bytes) -> None:
    try:
        command = parse_command(data)
    except Pop3Error as error:
        text = error.reply.text
        assert text.isascii() and "\r" not in text and "\n" not in text, error.reply
        return
    if isinstance(command, Retr | Dele | Top) or (
        isinstance(command, List | Uidl) and command.number is not None
    ):
        assert command.number is not None and 1 <= command.number <= MAX_NUMBER, command
    if isinstance(command, Top):
        assert 0 <= command.lines <= MAX_NUMBER, command
    if isinstance(command, User):
        assert command.username and not any(c in command.username for c in " \r\n\x00")
    if isinstance(command, Pass):
        assert command.password and not any(c in command.password for c in "\r\n\x00")
