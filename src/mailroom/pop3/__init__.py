"""The POP3 server (RFC 1939, with CAPA and response codes of RFC 2449, STLS of
RFC 2595 and SASL AUTH of RFC 5034).

Grammar is sans-I/O: commands.py reads the client's command lines into typed
values, wire.py writes the server's responses (status lines,
SASL challenges, dot-stuffed multi-line bodies), replies.py holds the -ERR answers
and the `Pop3Error` a handler raises to send one. None touches a socket, the
clock or the disk; the session around them, and the commands that work on
`mailroom.store` mailboxes, are built on top. The session gets its listener, the
services and settings of services.py and its server's session registry, never the
server (server.py), which imports it.
"""

from mailroom.pop3.commands import (
    MAX_COMMAND_LINE,
    Apop,
    Auth,
    Capa,
    Command,
    CommandError,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    parse_command,
)
from mailroom.pop3.replies import ErrReply, Pop3Error
from mailroom.pop3.wire import (
    AUTH,
    IN_USE,
    LOGIN_DELAY,
    MAX_LINE,
    SYS_PERM,
    SYS_TEMP,
    TERMINATOR,
    continuation,
    dot_stuffed,
    dot_stuffed_parts,
    err,
    multiline,
    ok,
    top,
)

__all__ = [
    "AUTH",
    "IN_USE",
    "LOGIN_DELAY",
    "MAX_COMMAND_LINE",
    "MAX_LINE",
    "SYS_PERM",
    "SYS_TEMP",
    "TERMINATOR",
    "Apop",
    "Auth",
    "Capa",
    "Command",
    "CommandError",
    "Dele",
    "ErrReply",
    "List",
    "Noop",
    "Pass",
    "Pop3Error",
    "Quit",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "continuation",
    "dot_stuffed",
    "dot_stuffed_parts",
    "err",
    "multiline",
    "ok",
    "parse_command",
    "top",
]
