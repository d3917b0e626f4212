"""What the interpreter may ask of the world while it runs, as narrow `Protocol`s that
delivery implements: the message as received, the envelope, the account's folders,
memory of earlier deliveries (duplicate), and the scripts an `include` names.

The interpreter never opens a file or a database itself; each of these is injected by
`delivery.local`, so `sieve` stays a pure package over its inputs (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope of this delivery (RFC 5228 §5.4)."""

    sender: str
    """MAIL FROM without angle brackets; "" for the null sender."""
    recipient: str
    """The RCPT TO address this copy was delivered for (the original recipient)."""
    detail: str | None = None
    """Sub-address detail routing found (`lists` of `alice+lists@`), RFC 5233."""
    auth: str | None = None
    """The authenticated submitter, if any (envelope "auth" part)."""


@dataclass(frozen=True)
class MessageSource:
    """The message as received: `header` is the raw header section (up to and not
    including the blank line), `size` the whole message's octets, `read_body` returns
    up to `limit` octets of the body (the body test's input, RFC 5173)."""

    header: bytes
    size: int
    body: BodyReader


class BodyReader(Protocol):
    def __call__(self, limit: int) -> bytes: ...


class Folders(Protocol):
    """The account's folders, for `mailboxexists` (RFC 5490 §3.1)."""

    def exists(self, name: str) -> bool: ...


class DuplicateMemory(Protocol):
    """Earlier deliveries' duplicate marks (RFC 7352), kept by delivery across restarts."""

    def seen(self, handle: str, value: str) -> bool: ...


class ScriptScope(Enum):
    PERSONAL = "personal"
    GLOBAL = "global"


class ScriptLoader(Protocol):
    """Finds an `include`d script's source by name (RFC 6609 §3.2); None if missing."""

    def load(self, scope: ScriptScope, name: str) -> bytes | None: ...


@dataclass(frozen=True)
class RunContext:
    """Everything one run needs besides the compiled scripts."""

    envelope: Envelope
    message: MessageSource
    folders: Folders
    duplicates: DuplicateMemory
    includes: ScriptLoader
    own_addresses: tuple[str, ...]
    """The account's primary address and every extra address and alias of it, for
    vacation's checks (RFC 5230 §4.5)."""
    now: datetime
    """For `currentdate` and `date`'s default zone (RFC 5260)."""
    hostname: str
    subaddress_delimiters: str = "+"
    """Characters that start a sub-address detail (RFC 5233 :user/:detail), as the
    host's `recipient_delimiter`: each character is one."""
