"""Delivery status notifications (RFC 3464), written the way Postfix writes them.

A DSN is a `multipart/report; report-type=delivery-status` message (RFC 6522)
from `MAILER-DAEMON` with three parts: a text for people (Postfix's wording,
so members who know Postfix bounces recognise ours), the machine-readable
`message/delivery-status` (RFC 3464 §2.2 per-message fields, §2.3 one block
per recipient), and the returned message: all of it as `message/rfc822`, or
only its header section as `text/rfc822-headers` (RFC 6522 §4).

Everything here is pure: times are passed in, nothing is read from disk
beyond the `message` stream handed over, and the result is bytes for the
queue. The dependency arrow runs from the queue to here, so recipients come
in as `DsnRecipient` rather than as the queue's own envelope types.

Choices where Postfix (or RFC 3461) leaves room:
- The whole message is returned unless RET=HDRS, as Postfix does; a message
  larger than `max_returned` (Postfix's `bounce_size_limit`, 50 000 bytes)
  is returned as headers only, never cut in the middle. Delay and success
  notices always return headers only (Postfix does the same).
- Without NOTIFY, failures and delays are reported (RFC 3461 §4.1 lets the
  MTA pick; this is Postfix's choice); NEVER wins over anything beside it.
- A failed DSN to the postmaster is never reported again: see `dsn_envelope`.

What the stdlib `email` package does for us: MIME structure, a boundary that
is checked not to occur in the parts, header encoding and folding, and the
blank-line-separated field blocks of message/delivery-status. What it does
not do, and this module does: the RFC 3464 field syntax (address types,
`\\x{HH}` escapes for non-ASCII addresses from RFC 6533 §3), keeping hostile
text (CR, LF, control characters) out of header fields, extracting the
enhanced status code (RFC 3463), and returning the original message without
re-encoding it. For the last, the original's header section is found by
`mailroom.message` (where its blank line is), parsed with
the tolerant compat32 parser (`headersonly`) and its body kept as opaque
text, and the result is generated with `refold_source="none"`, so the
returned message is the bytes received (line ends aside), even when its
MIME is broken. A BINARYMIME message with bare CR or NUL octets is not
returned byte for byte.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime
from typing import BinaryIO, Literal

from mailroom.message.headers import parse_header_block

Action = Literal["failed", "delayed", "delivered"]
Ret = Literal["FULL", "HDRS"]

DEFAULT_MAX_RETURNED = 50_000
"""Postfix's `bounce_size_limit`: the most of the original a DSN returns."""

MAX_LINE = 998
MAX_DIAGNOSTIC = 900
"""A reply longer than this is cut in Diagnostic-Code (RFC 5321 §4.5.3.1.5 allows 512)."""

_SUBJECTS: dict[str, str] = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "delivered": "Successful Mail Delivery Report",
}
_NOTIFY_KEYWORD: dict[str, str] = {"failed": "FAILURE", "delayed": "DELAY", "delivered": "SUCCESS"}
_DEFAULT_STATUS: dict[str, str] = {"failed": "5.0.0", "delayed": "4.0.0", "delivered": "2.0.0"}

# RFC 3463 §2: class "." subject "." detail, after an optional RFC 5321 reply
# code and its separator ("550 5.1.1 ..." or "550-5.1.1 ..." or "5.1.1 ...").
_ENHANCED_STATUS = re.compile(r"\s*(?:([245])\d\d[ -]\s*)?([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
_BASIC_CODE = re.compile(r"\s*([2-5])\d\d(?![^ -])")
# C0 and C1 controls, and what str.splitlines() takes for a line end besides
# CR and LF: the email package refuses a header value holding any of them.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Lone surrogates: raw bytes of an address decoded with surrogateescape.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class DsnRecipient:
    """One recipient as the DSN reports it (RFC 3464 §2.3)."""

    address: str
    """The address we tried: Final-Recipient."""
    reply: str
    """The last answer about it, e.g. "550 5.1.1 <bob@x>: Recipient address rejected"
    from a remote host or "4.2.2 Mailbox full" from local delivery."""
    original: str | None = None
    """The ORCPT or the address as the client gave it: Original-Recipient when it differs."""
    remote_mta: str | None = None
    """The host that gave the reply, if it came over SMTP."""
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None
    """For delays: when the queue gives up (Will-Retry-Until)."""


def parse_enhanced_status(reply: str, default: str | None = None) -> str:
    """The RFC 3463 enhanced status code at the start of an SMTP reply.

    "550 5.1.1 <x>: Recipient address rejected" gives "5.1.1". With none,
    the basic code's class decides ("451 try later" gives "4.0.0"), then
    `default`, then "5.0.0". When the enhanced class contradicts the reply
    code ("550 4.2.2 ..."), the reply code wins, as Postfix's smtp client
    fixes it: the reply code is what the remote host acted on.
    """
    first_line = reply.split("\n", 1)[0]
    found = _ENHANCED_STATUS.match(first_line)
    if found:
        basic_class, status_class, subject, detail = found.groups()
        return f"{basic_class or status_class}.{int(subject)}.{int(detail)}"
    basic = _BASIC_CODE.match(first_line)
    if basic:
        return f"{basic.group(1) if basic.group(1) in '245' else '5'}.0.0"
    return default or "5.0.0"


def should_notify(recipient_notify: frozenset[str] | None, action: Action) -> bool:
    """Whether the sender asked (RFC 3461 §4.1 NOTIFY) for a DSN about `action`.

    No NOTIFY means FAILURE and DELAY, as Postfix reads it; SUCCESS only when
    asked for; NEVER suppresses everything, even beside other keywords (the
    SMTP server refuses that combination; here the safer reading wins).
    """
    if recipient_notify is None:
        return action in ("failed", "delayed")
    wanted = {keyword.upper() for keyword in recipient_notify}
    if "NEVER" in wanted:
        return False
    return _NOTIFY_KEYWORD[action] in wanted


def dsn_envelope(
    sender: str,
    *,
    postmaster: str | None = None,
    double_bounce_sender: str | None = None,
) -> tuple[str, str] | None:
    """(envelope sender, recipient) for a DSN about a message from `sender`, or None.

    A DSN goes from the null sender to the original sender (RFC 3461 §6.1,
    RFC 5321 §4.5.5), and never to the null sender: a bounce about a bounce
    would loop. With `postmaster` and `double_bounce_sender` given (both or
    neither), a failed bounce is instead reported to the postmaster from
    `double_bounce_sender`, and a failed report from that sender is dropped,
    as Postfix does with its `double-bounce` address.
    """
    if (postmaster is None) != (double_bounce_sender is None):
        raise ValueError("give postmaster and double_bounce_sender together, or neither")
    if sender == "":
        if postmaster is None or double_bounce_sender is None:
            return None
        return double_bounce_sender, postmaster
    if double_bounce_sender is not None and sender.lower() == double_bounce_sender.lower():
        return None
    return "", sender


def build_dsn(
    *,
    reporting_mta: str,
    original_envelope_id: str | None,
    arrival: datetime,
    sender: str,
    recipients: Sequence[DsnRecipient],
    action: Action,
    ret: Ret | None,
    message: BinaryIO | bytes,
    now: datetime,
    max_returned: int = DEFAULT_MAX_RETURNED,
    message_id: str | None = None,
) -> bytes:
    """A complete DSN message (CRLF line ends) telling `sender` about `recipients`.

    Naive datetimes are taken as UTC. `message` is the original as queued;
    no more than `max_returned` + 1 bytes of it are read. `message_id`
    defaults to a random one in the reporting MTA's domain.
    """
    if not recipients:
        raise ValueError("a DSN reports on at least one recipient")
    host = _field_text(reporting_mta) or "localhost"
    utf8 = not sender.isascii()
    # A non-ASCII sender can only be reached with SMTPUTF8, so its DSN may use it too.
    # Fold only past RFC 5322 §2.1.1's hard limit: DSN fields read best on one
    # line, as Postfix writes them, and replies are cut well below it.
    policy = (email_policy.SMTPUTF8 if utf8 else email_policy.SMTP).clone(
        refold_source="none", max_line_length=MAX_LINE
    )

    report = EmailMessage(policy=policy)
    report["From"] = f"MAILER-DAEMON@{host} (Mail Delivery System)"
    try:
        report["To"] = f"<{_field_text(sender)}>"
    except (IndexError, ValueError):
        # Python 3.11's address parser raises on some hostile senders (`, :` gives an
        # IndexError in _header_value_parser). The DSN goes to the envelope sender
        # whatever this field says, so a group with no members stands in for it.
        report["To"] = "undisclosed-recipients:;"
    report["Subject"] = _SUBJECTS[action]
    report["Date"] = format_datetime(_aware(now))
    report["Message-ID"] = _field_text(message_id or "") or (
        f"<{_aware(now):%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{host}>"
    )
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5: no auto-replies to this
    report["MIME-Version"] = "1.0"
    report["Content-Type"] = "multipart/report; report-type=delivery-status"

    human = EmailMessage(policy=policy)
    text = _human_text(host, action, recipients, arrival, now)
    if text.isascii() and all(len(line) < 998 for line in text.splitlines()):
        human.set_content(text, charset="us-ascii", cte="7bit")  # as Postfix sends it
    else:
        human.set_content(text)
    del human["MIME-Version"]  # set_content adds one; only the top level needs it
    human["Content-Description"] = "Notification"
    report.attach(human)
    report.attach(_delivery_status(host, original_envelope_id, arrival, recipients, action, policy))
    report.attach(_returned(message, ret if action == "failed" else "HDRS", max_returned))

    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy).flatten(report)
    return out.getvalue()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _field_text(text: str) -> str:
    """One line of header text: control characters (CR, LF, …) become a space."""
    return _UNSAFE.sub(" ", _SURROGATE.sub("\ufffd", text)).strip()


def _typed_address(address: str) -> str:
    """An RFC 3464 §2.1.1 address field value: "rfc822; a@b", or RFC 6533's utf-8 type."""
    address = _field_text(address)
    if address.isascii():
        return f"rfc822; {address}"
    # RFC 6533 §3: in message/delivery-status a non-ASCII address is utf-8-addr-xtext.
    escaped = "".join(c if c.isascii() else f"\\x{{{ord(c):X}}}" for c in address)
    return f"utf-8; {escaped}"


def _ascii_field(text: str) -> str:
    """Free text (a reply, a host name) fit for a message/delivery-status field."""
    return _field_text(text).encode("ascii", "backslashreplace").decode("ascii")


def _original_recipient(recipient: DsnRecipient) -> str | None:
    original = recipient.original
    if not original or original.lower() == recipient.address.lower():
        return None
    addr_type, semicolon, value = original.partition(";")
    if semicolon and addr_type.strip().isalnum():
        # Already typed as ORCPT gives it ("rfc822;bob@x"): keep its type.
        return f"{_ascii_field(addr_type)}; {_ascii_field(value)}"
    return _typed_address(original)


def _diagnostic(reply: str) -> str:
    # RFC 3464 §2.3.6: "smtp;" only for a real SMTP reply; ours are an X- type,
    # as Postfix writes "X-Postfix;" for its own reasons.
    text = _ascii_field(" ".join(reply.split()))[:MAX_DIAGNOSTIC]
    if _BASIC_CODE.match(text):
        return f"smtp; {text}"
    return f"X-Mailroom; {text or 'delivery failed'}"


def _delivery_status(
    host: str,
    envelope_id: str | None,
    arrival: datetime,
    recipients: Iterable[DsnRecipient],
    action: Action,
    policy: email_policy.EmailPolicy[EmailMessage],
) -> EmailMessage:
    per_message = EmailMessage(policy=policy)
    per_message["Reporting-MTA"] = f"dns; {_ascii_field(host)}"
    if envelope_id:
        per_message["Original-Envelope-Id"] = _ascii_field(envelope_id)  # RFC 3464 §2.2.1
    per_message["Arrival-Date"] = format_datetime(_aware(arrival))
    blocks: list[Message | str] = [per_message]
    for recipient in recipients:
        block = EmailMessage(policy=policy)
        block["Final-Recipient"] = _typed_address(recipient.address)
        original = _original_recipient(recipient)
        if original:
            block["Original-Recipient"] = original
        block["Action"] = action
        block["Status"] = parse_enhanced_status(recipient.reply, _DEFAULT_STATUS[action])
        if recipient.remote_mta:
            block["Remote-MTA"] = f"dns; {_ascii_field(recipient.remote_mta)}"
        if recipient.reply.strip():
            block["Diagnostic-Code"] = _diagnostic(recipient.reply)
        if recipient.last_attempt is not None:
            block["Last-Attempt-Date"] = format_datetime(_aware(recipient.last_attempt))
        if action == "delayed" and recipient.will_retry_until is not None:
            block["Will-Retry-Until"] = format_datetime(_aware(recipient.will_retry_until))
        blocks.append(block)
    status = EmailMessage(policy=policy)
    status["Content-Type"] = "message/delivery-status"
    status["Content-Description"] = "Delivery report"
    # The generator writes a list payload of message/delivery-status as
    # blank-line-separated field blocks (RFC 3464 §2.1).
    status.set_payload(blocks)
    return status


def _human_text(
    host: str,
    action: Action,
    recipients: Sequence[DsnRecipient],
    arrival: datetime,
    now: datetime,
) -> str:
    """Postfix's bounce.cf.default wording, then one paragraph per recipient."""
    lines = [f"This is the mail system at host {host}.", ""]
    if action == "failed":
        lines += [
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.",
            "",
            "For further assistance, please send mail to postmaster.",
            "",
            "If you do so, please include this problem report. You can",
            "delete your own text from the attached returned message.",
        ]
    elif action == "delayed":
        hours = max(0, int((_aware(now) - _aware(arrival)).total_seconds() // 3600))
        lines += [
            "####################################################################",
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
            "####################################################################",
            "",
            f"Your message could not be delivered for {hours} hour(s).",
        ]
        until = [r.will_retry_until for r in recipients if r.will_retry_until is not None]
        if until:
            days = max(0, (_aware(max(until, key=_aware)) - _aware(arrival)).days)
            lines.append(f"It will be retried until it is {days} day(s) old.")
        lines += ["", "For further assistance, please send mail to postmaster."]
    else:
        lines += [
            "Your message was successfully delivered to the destination(s)",
            "listed below. If the message was delivered to mailbox you will",
            "receive no further notifications. Otherwise you may still receive",
            "notifications of mail delivery errors from other systems.",
        ]
    lines += ["", "                   The mail system", ""]
    for recipient in recipients:
        who = f"<{_field_text(recipient.address)}>"
        if _original_recipient(recipient) and recipient.original:
            shown = recipient.original
            if shown.lower().startswith("rfc822;"):
                shown = shown[len("rfc822;") :].strip()
            who += f" (expanded from <{_field_text(shown)}>)"
        reply = " ".join(recipient.reply.split()) or "delivery status unknown"
        if recipient.remote_mta:
            reply = f"host {_field_text(recipient.remote_mta)} said: {reply}"
        lines += [f"{who}: {_field_text(reply)}", ""]
    return "\n".join(lines)


def _read_bounded(message: BinaryIO | bytes, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the message, and whether that was all of it."""
    if isinstance(message, bytes | bytearray | memoryview):
        data = bytes(message[: limit + 1])
    else:
        data = message.read(limit + 1)
    return data[:limit], len(data) <= limit


def _header_section(data: bytes, limit: int) -> bytes:
    """The header section of `data` (up to its blank line, read by mailroom.message),
    cut at a line end to fit `limit`."""
    header = parse_header_block(data, 0, len(data))
    if header.header_end == 0:
        return b""  # no header fields at all: the body starts at once
    whole = header.body_start > header.header_end  # the blank line was found
    headers = data[: header.body_start]
    if len(headers) > limit or not whole:
        cut = headers[:limit].rfind(b"\n")
        headers = headers[: cut + 1] if cut >= 0 else b""
    return headers


def _returned(message: BinaryIO | bytes, ret: Ret | None, limit: int) -> EmailMessage:
    """The third part: the whole message, or only its header section (RFC 6522 §4)."""
    limit = max(0, limit)
    data, complete = _read_bounded(message, limit)
    whole = ret != "HDRS" and complete
    source = data if whole else _header_section(data, limit)
    compat = email_policy.compat32.clone(linesep="\r\n")
    original = BytesParser(policy=compat).parsebytes(source, headersonly=True)
    # compat32 keeps these header values as plain text, written out unparsed.
    part = EmailMessage(policy=compat)
    if whole:
        part["Content-Type"] = "message/rfc822"
        part["Content-Description"] = "Undelivered Message"
        # RFC 2046 §5.2.1: message/rfc822 is 7bit or 8bit, never base64.
        part["Content-Transfer-Encoding"] = "7bit" if source.isascii() else "8bit"
        part.set_payload([original])
    else:
        part["Content-Type"] = "text/rfc822-headers"
        part["Content-Description"] = "Undelivered Message Headers"
        if not source.isascii():
            part["Content-Transfer-Encoding"] = "8bit"
        # The header lines as text, raw bytes kept through surrogateescape.
        part.set_payload(source.decode("ascii", "surrogateescape"))
    return part
