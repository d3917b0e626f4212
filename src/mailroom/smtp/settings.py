"""What an SMTP session reads from the configuration, and nothing more: the host's
name and the `[smtp]` limits. `app` makes one from the `Config`; sessions never see
the whole `Config` (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.config import Config

DEFAULT_GREETING = "ESMTP Mailroom"


@dataclass(frozen=True)
class SmtpSettings:
    hostname: str
    """The name in the greeting, in replies and in Received: headers."""
    greeting: str
    """Text after `220 hostname` in the greeting."""
    max_message_size: int
    """Octets; announced as SIZE (RFC 1870)."""
    max_recipients: int
    """RCPT commands accepted per message."""
    max_command_line: int
    """Octets of one command line, line end included."""
    max_data_line: int
    """Octets of one line inside a message."""
    max_received_headers: int
    """A message with this many Received: headers is looping and refused."""

    @classmethod
    def from_config(cls, config: Config) -> SmtpSettings:
        smtp = config.smtp
        return cls(
            hostname=config.hostname,
            greeting=smtp.greeting or DEFAULT_GREETING,
            max_message_size=smtp.max_message_size,
            max_recipients=smtp.max_recipients,
            max_command_line=smtp.max_command_line,
            max_data_line=smtp.max_data_line,
            max_received_headers=smtp.max_received_headers,
        )
