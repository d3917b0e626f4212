"""Hostile input for the DSN writer and the SRS parser: whatever arrives, they
answer or refuse with their own error, and never produce a broken report."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.delivery.dsn import DsnRecipient, build_dsn, parse_enhanced_status
from mailroom.delivery.srs import SrsError, SrsRewriter

DAY_20000 = 20000 * 86400.0
SRS = SrsRewriter([b"secret", b"older"], "fwd.example.org", clock=lambda: DAY_20000)

# Any code point, lone surrogates too: addresses decoded with surrogateescape have them.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
# Local parts as senders really have them: atext and dots, sometimes = + - .
local_parts = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789.!#$%&'*+/=?^_`{|}~-"),
    min_size=1,
    max_size=40,
).filter(lambda local: local[:4].upper() not in ("SRS0", "SRS1"))
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
srs_like = st.builds(
    lambda tag, sep, fields: f"{tag}{sep}{'='.join(fields)}",
    st.sampled_from(["SRS0", "srs1", "SRS1", "sRs0"]),
    st.sampled_from("=+-x"),
    st.lists(st.text(max_size=8), max_size=6),
)


@given(st.one_of(any_text, srs_like.map(lambda local: local + "@fwd.example.org")))
def test_reverse_of_anything_returns_or_raises_srs_error(address: str) -> None:
    try:
        result = SRS.reverse(address)
    except SrsError:
        return
    assert isinstance(result, str)


@given(local_parts, domains)
def test_forward_then_reverse_is_the_identity(local: str, domain: str) -> None:
    sender = f"{local}@{domain}"
    rewritten = SRS.forward(sender)

    if domain == "fwd.example.org":
        assert rewritten == sender
    else:
        assert SRS.is_srs(rewritten)
        assert SRS.reverse(rewritten) == sender


@given(local_parts, domains)
def test_reforwarding_then_reversing_leads_back_to_the_first_forwarder(
    local: str, domain: str
) -> None:
    first = SrsRewriter([b"first"], "fwd1.example", clock=lambda: DAY_20000)
    srs0 = first.forward(f"{local}@{domain}")

    assert first.reverse(SRS.reverse(SRS.forward(srs0))) == f"{local}@{domain}"


@given(any_text)
def test_forward_of_anything_never_raises(sender: str) -> None:
    assert isinstance(SRS.forward(sender), str)


@given(any_text)
def test_parse_enhanced_status_of_anything_is_a_status_code(reply: str) -> None:
    status = parse_enhanced_status(reply)

    klass, subject, detail = status.split(".")
    assert klass in ("2", "4", "5")
    assert subject.isdigit() and detail.isdigit()


def _parts(raw: bytes) -> list[EmailMessage]:
    dsn = BytesParser(policy=policy.default).parsebytes(raw)
    assert dsn.get_content_type() == "multipart/report"
    assert not dsn.defects
    payload = dsn.get_payload()
    assert isinstance(payload, list)
    assert all(isinstance(part, EmailMessage) for part in payload)
    return payload  # type: ignore[return-value]


header_lines = st.lists(
    st.builds(
        lambda name, value: name + b": " + value + b"\r\n",
        st.sampled_from([b"From", b"To", b"Subject", b"Content-Type", b"X-Odd", b"--b"]),
        st.binary(max_size=40),
    ),
    max_size=5,
)
messages = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda headers, body: b"".join(headers) + b"\r\n" + body, header_lines, st.binary()),
)


@settings(max_examples=300)
@given(
    message=messages,
    ret=st.sampled_from([None, "FULL", "HDRS"]),
    action=st.sampled_from(["failed", "delayed", "delivered"]),
    limit=st.integers(min_value=0, max_value=3000),
    address=any_text,
    reply=any_text,
    sender=any_text,
    envid=st.none() | st.text(max_size=40),
)
def test_build_dsn_on_anything_yields_a_three_part_report(
    message: bytes,
    ret: str | None,
    action: str,
    limit: int,
    address: str,
    reply: str,
    sender: str,
    envid: str | None,
) -> None:
    raw = build_dsn(
        reporting_mta="mail.example.net",
        original_envelope_id=envid,
        arrival=datetime(2026, 11, 1, tzinfo=UTC),
        sender=sender,
        recipients=[DsnRecipient(address=address, reply=reply, original=address.upper())],
        action=action,  # type: ignore[arg-type]
        ret=ret,  # type: ignore[arg-type]
        message=message,
        now=datetime(2026, 11, 2, tzinfo=UTC),
        max_returned=limit,
    )

    parts = _parts(raw)
    assert len(parts) == 3
    assert [p.get_content_type() for p in parts[:2]] == ["text/plain", "message/delivery-status"]
    assert parts[2].get_content_type() in ("message/rfc822", "text/rfc822-headers")
    blocks = parts[1].get_payload()
    assert isinstance(blocks, list) and len(blocks) == 2
    assert isinstance(blocks[1], EmailMessage)
    assert blocks[1]["Action"] == action
