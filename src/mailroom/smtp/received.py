"""The `Received:` header a message gets on arrival (RFC 5321 §4.4, RFC 3848's
protocol names). Pure: the session passes everything it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime


@dataclass(frozen=True)
class Arrival:
    helo: str
    client_ip: str
    client_hostname: str | None
    server_hostname: str
    queue_id: str
    tls_version: str | None
    tls_cipher: str | None
    authenticated: bool
    extended: bool
    """EHLO (ESMTP) rather than HELO."""
    single_recipient: str | None
    """Shown as `for <...>` when the message has exactly one recipient (as Postfix does)."""
    when: datetime


def protocol_name(extended: bool, tls: bool, authenticated: bool) -> str:
    """SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (RFC 3848)."""
    if not extended:
        return "SMTP"
    return "ESMTP" + ("S" if tls else "") + ("A" if authenticated else "")


def _clean(text: str) -> str:
    """Client-chosen text as a header-safe comment word: no CR/LF, parentheses or
    control characters, bounded."""
    kept = "".join(c if c.isprintable() and c not in "()\\" else "?" for c in text)
    return kept[:200] or "unknown"


def received_header(arrival: Arrival) -> bytes:
    """The header with CRLF line endings, folded as Postfix folds it."""
    client = f"{_clean(arrival.client_hostname or 'unknown')} [{arrival.client_ip}]"
    lines = [f"Received: from {_clean(arrival.helo)} ({client})"]
    if arrival.tls_version:
        lines.append(
            f"\t(using {_clean(arrival.tls_version)} with cipher "
            f"{_clean(arrival.tls_cipher or 'unknown')})"
        )
    protocol = protocol_name(
        arrival.extended, arrival.tls_version is not None, arrival.authenticated
    )
    lines.append(f"\tby {arrival.server_hostname} (Mailroom) with {protocol} id {arrival.queue_id}")
    date = format_datetime(arrival.when)
    if arrival.single_recipient is not None:
        lines.append(f"\tfor <{_clean(arrival.single_recipient)}>; {date}")
    else:
        lines[-1] += ";"
        lines.append(f"\t{date}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
