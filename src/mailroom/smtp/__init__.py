"""SMTP, submission and LMTP.

The grammar lives here as pure code that never touches a socket, a clock or a disk:
`commands` turns a command line into a typed command, `paths` parses the addresses
in MAIL FROM and RCPT TO, `data` decodes the DATA transfer, `xtext` is RFC 3461's
parameter encoding, `replies` holds every reply text, and `transaction` the rules of
which command may come when and which recipient is refused. The asyncio side is thin:
`session` (the command loop, greeting, TLS, AUTH, MAIL, RCPT) and `reception` (DATA,
BDAT, the queue file) feed the grammar bytes and send the replies it returns (or the
reply of the SmtpError it raises); they read only their `SmtpSettings`, never the whole
config.
"""

from mailroom.smtp.commands import (
    AnyCommand,
    Auth,
    Bdat,
    Body,
    Command,
    Data,
    Expn,
    Helo,
    Help,
    Mail,
    MailParams,
    Noop,
    Notify,
    OriginalRecipient,
    Quit,
    Rcpt,
    RcptParams,
    Ret,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
)
from mailroom.smtp.data import DataDecoder, HeaderScanner
from mailroom.smtp.paths import (
    NULL_PATH,
    Path,
    parse_forward_path,
    parse_reverse_path,
    split_path,
)
from mailroom.smtp.replies import SmtpError, SmtpReply
from mailroom.smtp.xtext import decode_xtext

__all__ = [
    "NULL_PATH",
    "AnyCommand",
    "Auth",
    "Bdat",
    "Body",
    "Command",
    "Data",
    "DataDecoder",
    "Expn",
    "HeaderScanner",
    "Helo",
    "Help",
    "Mail",
    "MailParams",
    "Noop",
    "Notify",
    "OriginalRecipient",
    "Path",
    "Quit",
    "Rcpt",
    "RcptParams",
    "Ret",
    "Rset",
    "SmtpError",
    "SmtpReply",
    "StartTls",
    "Vrfy",
    "decode_xtext",
    "parse_command",
    "parse_forward_path",
    "parse_reverse_path",
    "split_path",
]
