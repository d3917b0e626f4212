"""What another mail server's replies mean for each recipient: delivered (2xx), deferred
(4xx) or failed (5xx), with the reply text and an enhanced status code (RFC 3463) that
logs, the queue and DSNs carry on. Pure functions: no socket, no clock."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# An enhanced status code at the start of a reply text (RFC 3463 §2, RFC 2034 §4).
_ENHANCED_STATUS = re.compile(r"([245])\.[0-9]{1,3}\.[0-9]{1,3}\b")


class RemoteStatus(enum.Enum):
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    FAILED = "failed"


LOGGED_STATUS = {
    RemoteStatus.DELIVERED: "sent",
    RemoteStatus.DEFERRED: "deferred",
    RemoteStatus.FAILED: "bounced",
}
"""The words Postfix logs for each outcome, which log tooling already parses."""


@dataclass(frozen=True)
class RemoteResult:
    """What happened to one recipient.

    `reply` is the remote server's reply ("250 2.0.0 Ok: queued"), always with an
    enhanced status code (added from the reply code's class when the server sent
    none); when no server answered it is our own diagnosis without a reply code
    ("4.4.1 connect to mx.example[192.0.2.1]:25: Connection refused").
    `remote_host` is "name[address]:port" of the host that answered, or of the last
    host tried, or None when DNS already failed.
    """

    status: RemoteStatus
    reply: str
    remote_host: str | None
    enhanced_status: str


def smtp_reply(code: int, message: str) -> tuple[str, str]:
    """(reply text with enhanced status, enhanced status) for a server's reply."""
    text = " ".join(message.split())
    match = _ENHANCED_STATUS.match(text)
    if match and match.group(1) == str(code)[0]:
        return f"{code} {text}", match.group(0)
    # RFC 3463 §3.1: X.0.0 when nothing more specific is known.
    enhanced = f"{str(code)[0]}.0.0"
    return f"{code} {enhanced} {text}", enhanced


def status_for(code: int) -> RemoteStatus:
    if 200 <= code < 300:
        return RemoteStatus.DELIVERED
    return RemoteStatus.FAILED if code >= 500 else RemoteStatus.DEFERRED


def failure_reason(error: BaseException) -> str:
    """The operating system's words for a socket error, else the exception's text."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__
    return str(error) or type(error).__name__
