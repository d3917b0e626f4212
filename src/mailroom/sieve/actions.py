"""What a Sieve run decides: the actions, in the order the script took them.

The interpreter (`mailroom.sieve.run`) returns an `Outcome`; `delivery.local` carries it
out through the store's one write path and the queue. Nothing here touches a disk or a
socket: these are plain values, so delivery can log them, count them against its limits
and test them without running a script.

Implicit keep (RFC 5228 §2.10.2) is already resolved in `Outcome.actions`: when the
script cancelled nothing, the last action is a `Keep` with `implicit=True`. A script
that fails at run time yields `Outcome.failed` with the reason and a single implicit
`Keep` (RFC 5228 §2.10.6: on error the message is kept), which delivery logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HeaderChange:
    """The message's header section as editheader (RFC 5293) left it when an action was
    taken: every field in order, as (name, raw value without the line end, folding kept).
    Delivery writes these lines instead of the original header section; the body is the
    original's."""

    fields: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Keep:
    """Store into INBOX (RFC 5228 §4.3; implicit keep §2.10.2)."""

    flags: tuple[str, ...] = ()
    """IMAP flags and keywords to set (imap4flags, RFC 5232 §5: the internal variable
    when no :flags was given)."""
    implicit: bool = False
    header: HeaderChange | None = None


@dataclass(frozen=True)
class FileInto:
    """Store into a folder (RFC 5228 §4.1), named in IMAP's UTF-8 form with "." or "/" as
    the account's separator; a missing folder falls back to INBOX unless `create`
    (RFC 5490 §3.2 `:create`)."""

    folder: str
    flags: tuple[str, ...] = ()
    create: bool = False
    copy: bool = False
    """RFC 3894 `:copy`: does not cancel implicit keep (already resolved; for the log)."""
    header: HeaderChange | None = None


@dataclass(frozen=True)
class Redirect:
    """Send the message on to `address` (RFC 5228 §4.2), unchanged except for trace
    fields; delivery queues it with an SRS sender."""

    address: str
    copy: bool = False
    header: HeaderChange | None = None


@dataclass(frozen=True)
class Reject:
    """Refuse the message (RFC 5429): `extended` is ereject, which prefers refusing in
    the SMTP transaction; both fall back to a DSN/MDN to the envelope sender."""

    reason: str
    extended: bool = False


@dataclass(frozen=True)
class Discard:
    """Drop the message silently (RFC 5228 §4.4): present so the log can say so."""


@dataclass(frozen=True)
class VacationReply:
    """An auto-reply (RFC 5230) the script asked for, after the interpreter's own
    checks that do not need memory (null sender, Auto-Submitted, list and bulk
    headers, the recipient not among To/Cc/Bcc and `:addresses`, a sender that is one
    of the account's own addresses). Whether the same `handle` already answered this
    `sender` within `period_seconds` is delivery's to check, in its persistent record
    (RFC 5230 §4.2), before it queues the reply."""

    sender: str
    """Who is answered: the envelope sender (RFC 5230 §4.5)."""
    handle: str
    """RFC 5230 §4.2: `:handle`, else derived from the reason, subject, from and mime."""
    period_seconds: int
    """`:days` (or `:seconds`, RFC 6131) as seconds; 0 means answer every time."""
    from_address: str
    """The reply's From: `:from` if given and allowed, else the recipient's address."""
    subject: str
    """Already defaulted (RFC 5230 §5.2: "Auto: " + the original subject)."""
    reason: str
    """The body text; with `mime` it is a whole MIME entity (headers and body)."""
    mime: bool = False
    in_reply_to: str | None = None
    """The original's Message-ID, for In-Reply-To and References (RFC 5230 §5.8)."""
    references: str | None = None
    """The original's References with its Message-ID appended."""


@dataclass(frozen=True)
class DuplicateMark:
    """Remember that `value` was seen under `handle` for `period_seconds` (RFC 7352
    §3): delivery records it only once the message has been delivered."""

    handle: str
    value: str
    period_seconds: int


Action = Keep | FileInto | Redirect | Reject | Discard | VacationReply


@dataclass(frozen=True)
class Outcome:
    """Everything one run of a message through the account's scripts decided."""

    actions: tuple[Action, ...]
    duplicate_marks: tuple[DuplicateMark, ...] = ()
    failed: str | None = None
    """Why the run stopped early (a runtime error or a limit), with script name and
    line; the actions are then just the implicit keep."""
    log: tuple[str, ...] = field(default=())
    """What the script did, one line each, for the delivery log (script:line action)."""
