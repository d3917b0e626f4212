"""The vacation action (RFC 5230, with RFC 6131's `:seconds`): its arguments, and the
checks that decide whether to answer at all that need no memory of earlier replies.

`decide_vacation` either returns the `VacationReply` delivery will send (after its own
check of whether this `handle` already answered this sender within the period, which
needs its persistent record, RFC 5230 §4.2) or `Declined` with the reason for the log.
What is never answered (RFC 5230 §4.5, §4.6, and Pigeonhole's list, which members'
scripts were written against):
- the null sender, or no envelope recipient;
- a sender that is one of the account's own addresses or `:addresses`;
- mail with any List-* field of RFC 2369/2919 (List-Id, List-Post, ...);
- `Auto-Submitted` other than "no" (RFC 3834 §5);
- `Precedence: bulk`, `list` or `junk`;
- `X-Auto-Response-Suppress: All` or `OOF` (Microsoft's request not to send
  out-of-office replies; not in Pigeonhole, honoured because it only ever prevents
  a reply);
- system senders: MAILER-DAEMON, LISTSERV, majordomo, `owner-*`, `*-request`,
  `*-owner`, `*-bounces` (§4.6);
- mail in which no address of the account (the envelope recipient, its own addresses,
  `:addresses`) appears in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc (§4.5).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from mailroom.message.addresses import MISSING_DOMAIN, parse_addresses
from mailroom.message.headers import decode_header, parse_header_block, unfold
from mailroom.sieve.actions import VacationReply
from mailroom.sieve.context import Envelope

DAY: Final = 24 * 3600
MAX_SUBJECT_CHARS = 256
"""The reply's Subject is cut to this (Pigeonhole's str_sanitize(subject, 256))."""
MAX_REFERENCES = 20
"""Message-IDs of the original's References kept in the reply's (RFC 5322 §3.6.4
allows trimming a long thread's list)."""
DEFAULT_SUBJECT = "Automated reply"
"""RFC 5230 §4.3 leaves the subject for mail without one to the implementation;
Pigeonhole's text."""

LIST_FIELDS = (
    "list-id",
    "list-owner",
    "list-subscribe",
    "list-post",
    "list-unsubscribe",
    "list-help",
    "list-archive",
)
ADDRESSED_FIELDS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_SYSTEM_PREFIXES = ("mailer-daemon", "listserv", "majordomo", "owner-")
_SYSTEM_SUFFIXES = ("-request", "-owner", "-bounces")


@dataclass(frozen=True)
class VacationPeriods:
    """The site's limits on the period between two replies to one sender, in seconds
    (config.sieve.vacation_*_period_seconds; Pigeonhole's sieve_vacation_min_period and
    sieve_vacation_max_period). A maximum of 0 means no maximum."""

    minimum: int = DAY
    default: int = 7 * DAY
    maximum: int = 60 * DAY


@dataclass(frozen=True)
class VacationRequest:
    """A vacation command's arguments, as evaluated at run time (strings after
    variable expansion)."""

    reason: str
    days: int | None = None
    seconds: int | None = None
    """RFC 6131: instead of :days (the two exclude each other)."""
    subject: str | None = None
    from_address: str | None = None
    addresses: tuple[str, ...] = ()
    mime: bool = False
    handle: str | None = None


@dataclass(frozen=True)
class Declined:
    """Vacation chose not to answer; `why` is for the delivery log."""

    why: str


def argument_errors(request: VacationRequest) -> list[str]:
    """What is wrong with the arguments themselves (the validator reports these with
    the command's line when the arguments are literals; at run time they fail the run)."""
    errors: list[str] = []
    if request.days is not None and request.seconds is not None:
        errors.append("vacation: :days and :seconds cannot both be given")
    for name, value in (("days", request.days), ("seconds", request.seconds)):
        if value is not None and value < 0:
            errors.append(f"vacation: :{name} must not be negative")
    if request.from_address is not None and mailbox_address(request.from_address) is None:
        errors.append(f"vacation: :from {request.from_address[:100]!r} is not a valid address")
    for address in request.addresses:
        if mailbox_address(address) is None:
            errors.append(f"vacation: :addresses item {address[:100]!r} is not a valid address")
    return errors


def mailbox_address(text: str) -> str | None:
    """The lower-cased addr-spec of `text` when it is exactly one mailbox
    (`local@domain` or `Name <local@domain>`), else None."""
    if "\r" in text or "\n" in text:
        return None
    found = [
        a for a in parse_addresses(text.encode("utf-8", "surrogateescape")) if a.host is not None
    ]
    if len(found) != 1 or found[0].host == MISSING_DOMAIN or not found[0].mailbox:
        return None
    return found[0].addr_spec.lower()


def period_seconds(request: VacationRequest, periods: VacationPeriods) -> int:
    """The period between replies to one sender: :days or :seconds, else the site's
    default, raised to the minimum and lowered to the maximum (RFC 5230 §4.1: the site
    MAY limit both; RFC 6131 §2: 0 means "always answer", only if the minimum is 0)."""
    if request.seconds is not None:
        wanted = request.seconds
    elif request.days is not None:
        wanted = request.days * DAY
    else:
        wanted = periods.default
    wanted = max(wanted, periods.minimum)
    if periods.maximum > 0:
        wanted = min(wanted, periods.maximum)
    return wanted


def default_handle(request: VacationRequest) -> str:
    """RFC 5230 §4.2: without :handle, replies with the same reason, subject, from and
    mime arguments share one record (Pigeonhole's composition, hashed to bound its
    size); a changed reason answers everyone again."""
    parts = (
        request.reason,
        request.subject if request.subject is not None else "<default-subject>",
        request.from_address if request.from_address is not None else "<default-from>",
        "<MIME>" if request.mime else "<NO-MIME>",
    )
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return "vacation:" + digest[:40]


def decide_vacation(
    request: VacationRequest,
    *,
    envelope: Envelope,
    header: bytes,
    own_addresses: tuple[str, ...],
    periods: VacationPeriods,
) -> VacationReply | Declined:
    """Answer or not (see the module docstring); `header` is the message's header
    section as received."""
    fields = _header_fields(header)
    sender = envelope.sender.strip().strip("<>").strip()
    if not envelope.recipient:
        return Declined("no envelope recipient")
    if not sender:
        return Declined("the sender is the null sender <>")
    own = {a.lower() for a in own_addresses} | {envelope.recipient.lower()}
    extra = [a for a in (mailbox_address(x) for x in request.addresses) if a is not None]
    if sender.lower() in own or sender.lower() in extra:
        return Declined(f"the sender <{sender}> is one of the account's own addresses")
    why = _automated(fields, sender)
    if why is not None:
        return Declined(why)
    reply_from = _addressed_to(fields, [envelope.recipient.lower(), *sorted(own), *extra])
    if reply_from is None:
        return Declined("none of the account's addresses is in To, Cc or Bcc (§4.5)")
    from_address = reply_from
    if request.from_address is not None:
        wanted = mailbox_address(request.from_address)
        # :from must be one of the account's addresses: a member's vacation must not
        # send mail in someone else's name (RFC 5230 §4.4 lets the site restrict it).
        if wanted is not None and (wanted in own or wanted in extra):
            from_address = (
                unfold(request.from_address.encode("utf-8", "surrogateescape"))
                .decode("utf-8", "surrogateescape")
                .strip()
            )
    message_id = _first(fields, "message-id")
    references = _first(fields, "references")
    return VacationReply(
        sender=sender,
        handle=request.handle if request.handle else default_handle(request),
        period_seconds=period_seconds(request, periods),
        from_address=from_address,
        subject=reply_subject(request.subject, _first_raw(fields, "subject")),
        reason=request.reason,
        mime=request.mime,
        in_reply_to=message_id,
        references=_references(references, message_id),
    )


def reply_subject(wanted: str | None, original: bytes | None) -> str:
    """:subject when given and not empty; else "Auto: " and the original's subject,
    RFC 2047-decoded (RFC 5230 §4.3); one line, at most MAX_SUBJECT_CHARS."""
    if wanted:
        subject = wanted
    elif original is not None and decode_header(original).strip():
        subject = "Auto: " + decode_header(original).strip()
    else:
        subject = DEFAULT_SUBJECT
    one_line = " ".join(subject.replace("\0", " ").split())
    return one_line[:MAX_SUBJECT_CHARS]


def _header_fields(header: bytes) -> dict[str, list[bytes]]:
    block = parse_header_block(header, 0, len(header))
    fields: dict[str, list[bytes]] = {}
    for field in block.fields:
        fields.setdefault(field.name.lower(), []).append(field.value)
    return fields


def _token(raw: bytes) -> str:
    """The first word of a field (before ";" or a comment), lower-cased."""
    text = unfold(raw).decode("latin-1")
    for stop in (";", "(", ","):
        text = text.split(stop, 1)[0]
    return text.strip().lower()


def _automated(fields: dict[str, list[bytes]], sender: str) -> str | None:
    for name in LIST_FIELDS:
        if name in fields:
            return f"the message came through a mailing list ({name})"
    for value in fields.get("auto-submitted", []):
        if _token(value) != "no":
            return f"the message is Auto-Submitted: {_token(value)[:40]}"
    for value in fields.get("precedence", []):
        if _token(value) in BULK_PRECEDENCE:
            return f"the message has Precedence: {_token(value)}"
    for value in fields.get("x-auto-response-suppress", []):
        kinds = {k.strip().lower() for k in unfold(value).decode("latin-1").split(",")}
        if kinds & {"all", "oof"}:
            return "the sender asked for no auto-replies (X-Auto-Response-Suppress)"
    local = sender.rsplit("@", 1)[0].lower()
    if local.startswith(_SYSTEM_PREFIXES) or local.endswith(_SYSTEM_SUFFIXES):
        return f"the sender <{sender}> is a system address"
    return None


def _addressed_to(fields: dict[str, list[bytes]], mine: list[str]) -> str | None:
    """The first of `mine` found among the addressed fields' addresses (§4.5)."""
    found: set[str] = set()
    for name in ADDRESSED_FIELDS:
        for value in fields.get(name, []):
            found.update(
                a.addr_spec.lower()
                for a in parse_addresses(value)
                if a.host is not None and a.host != MISSING_DOMAIN
            )
    for address in mine:
        if address in found:
            return address
    return None


def _first_raw(fields: dict[str, list[bytes]], name: str) -> bytes | None:
    values = fields.get(name)
    return values[0] if values else None


def _first(fields: dict[str, list[bytes]], name: str) -> str | None:
    raw = _first_raw(fields, name)
    if raw is None:
        return None
    text = " ".join(unfold(raw).decode("utf-8", "replace").split())
    return text or None


def _references(references: str | None, message_id: str | None) -> str | None:
    """RFC 5322 §3.6.4: the original's References (or In-Reply-To) followed by its
    Message-ID; the oldest dropped past MAX_REFERENCES."""
    ids = references.split() if references else []
    if message_id:
        ids.append(message_id)
    if not ids:
        return None
    return " ".join(ids[-MAX_REFERENCES:])
