"""Authentication-Results (`mailroom.mailauth.results`): the fields a message arrives
with, some claiming our authserv-id (RFC 8601 §5: forged, removed), and the field we
write from what the checks found, whose reasons, domains and addresses come from the
sender and from DNS.

The input is a message (its header section is what counts); as text, cut at LF, its
lines are also the values (sender, domains, selectors, reasons) put into our field.
Contract: `authserv_id` of any value is None or a lower-case id; our field is ASCII,
one field (every line but the first folded, none over 998 octets, CRLF only), whose
authserv-id reads back as ours, each clause a method we wrote; `rewrite_head` gives a
head that, put before the rest of the message, is a header section of our field followed
by every field of the original except those that claimed our id, in order, unchanged
(the message starts with our Received: field, as the queue file does when the check
reads it: a first line that begins with white space would otherwise continue our field).
A crash: any exception or broken invariant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailroom.mailauth.dmarc import DmarcResult
from mailroom.mailauth.results import Checks, authentication_results, authserv_id, rewrite_head
from mailroom.mailauth.spf import SpfResult
from mailroom.message.headers import parse_header_block

OUR_ID = "mx.example.org"
RECEIVED = b"Received: from client.example by mx.example.org; Mon, 7 Dec 2026 12:00:00 +0000\r\n"
_CLAUSE = re.compile(rb"\t(?:spf|dkim|arc|dmarc)=[a-z]+(?:[ ;]|$)")


@dataclass(frozen=True)
class Dkim:
    result: str
    domain: str
    selector: str
    signature_b: str
    reason: str


@dataclass(frozen=True)
class Arc:
    result: str
    instance: int
    reason: str


def one_input(data: bytes) -> None:
    header = parse_header_block(data, 0, len(data))
    for existing in header.fields:
        found = authserv_id(existing.value)
        assert found is None or (found and found == found.lower()), found
    field = authentication_results(OUR_ID, _checks(data))
    ours = _check_field(field)
    data = RECEIVED + data  # as the queue file is when the check reads it
    header = parse_header_block(data, 0, len(data))
    rewrite = rewrite_head(data, header, OUR_ID, field)
    assert 0 <= rewrite.replaced <= len(data) and rewrite.head.startswith(field), rewrite
    rewritten = rewrite.head + data[rewrite.replaced :]
    again = parse_header_block(rewritten, 0, len(rewritten))
    kept = [
        (f.name, f.value)
        for f in header.fields
        if not (f.name.lower() == "authentication-results" and authserv_id(f.value) == OUR_ID)
    ]
    got = [(f.name, f.value) for f in again.fields]
    assert got[0] == ("Authentication-Results", ours), (got[0], ours)
    assert got[1:] == kept[: len(got) - 1], (got, kept)


def _checks(data: bytes) -> Checks:
    lines = data.decode("utf-8", "replace").split("\n") + [""] * 6
    sender, domain, selector, b, reason, other = lines[:6]
    spf = SpfResult("softfail", "mailfrom", sender, domain, reason)
    helo = SpfResult("none", "helo", domain, domain, other)
    dkim = [Dkim(reason[:10], domain, selector, b, reason), Dkim("pass", sender, b, "", other)]
    dmarc = DmarcResult("fail", domain, "reject", "quarantine", reason)
    return Checks(spf, helo, dkim, Arc(other[:12], len(other), reason), dmarc)


def _check_field(field: bytes) -> bytes:
    """`field` checked; its value."""
    assert field.isascii() and field.endswith(b"\r\n"), field
    lines = field[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines), field
    assert all(len(line) <= 998 for line in lines), field
    assert lines[0].startswith(b"Authentication-Results: "), field
    assert all(line.startswith(b"\t") for line in lines[1:]), field
    parsed = parse_header_block(field, 0, len(field))
    assert len(parsed.fields) == 1, field
    assert authserv_id(parsed.fields[0].value) == OUR_ID, field
    assert all(_CLAUSE.match(line) for line in lines[1:]), field
    return parsed.fields[0].value
