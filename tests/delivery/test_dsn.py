"""Delivery status notifications: what a sender gets back when mail to a
recipient fails, is delayed, or (when asked) is delivered, read back with the
stdlib email parser as the sender's mail client would read it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from mailroom.delivery.dsn import (
    DsnRecipient,
    build_dsn,
    dsn_envelope,
    parse_enhanced_status,
    should_notify,
)

ARRIVAL = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
ORIGINAL = (
    b"From: carol@example.net\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: Minutes\r\n"
    b"Message-ID: <minutes@example.net>\r\n"
    b"\r\n"
    b"The minutes of Tuesday's meeting.\r\n"
)
BOB_REJECTED = DsnRecipient(
    address="bob@example.org",
    reply="550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown",
    remote_mta="mx.example.org",
    last_attempt=NOW,
)


ARGUMENTS: dict[str, object] = {
    "reporting_mta": "mail.example.net",
    "original_envelope_id": None,
    "arrival": ARRIVAL,
    "sender": "carol@example.net",
    "recipients": [BOB_REJECTED],
    "action": "failed",
    "ret": None,
    "message": ORIGINAL,
    "now": NOW,
}


def parse(raw: bytes) -> EmailMessage:
    """The DSN as a mail client reads it."""
    return BytesParser(policy=policy.default).parsebytes(raw)


def bounce(**overrides: object) -> EmailMessage:
    arguments: Any = {**ARGUMENTS, **overrides}
    return parse(build_dsn(**arguments))


def parts(message: EmailMessage) -> list[EmailMessage]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    assert all(isinstance(part, EmailMessage) for part in payload)
    return payload  # type: ignore[return-value]


def status_blocks(dsn: EmailMessage) -> list[EmailMessage]:
    return parts(parts(dsn)[1])


def header(message: EmailMessage, name: str) -> Any:
    """A header as policy.default parses it (with .addresses, .datetime)."""
    return message[name]


def test_a_bounce_is_a_three_part_delivery_status_report_from_mailer_daemon() -> None:
    dsn = bounce()

    assert header(dsn, "From").addresses[0].addr_spec == "MAILER-DAEMON@mail.example.net"
    assert b"\r\nFrom: MAILER-DAEMON@mail.example.net (Mail Delivery System)\r\n" in (
        b"\r\n" + build_dsn(**ARGUMENTS)  # type: ignore[arg-type]
    )
    assert header(dsn, "To").addresses[0].addr_spec == "carol@example.net"
    assert dsn["Subject"] == "Undelivered Mail Returned to Sender"
    assert dsn["Auto-Submitted"] == "auto-replied"
    assert header(dsn, "Date").datetime == NOW
    assert dsn["Message-ID"].endswith("@mail.example.net>")
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert [p.get_content_type() for p in parts(dsn)] == [
        "text/plain",
        "message/delivery-status",
        "message/rfc822",
    ]


def test_a_sender_the_address_parser_chokes_on_still_gets_a_whole_report() -> None:
    # Found by hypothesis: ", :" made Python's header parser raise IndexError.
    dsn = bounce(sender=", :")
    assert str(header(dsn, "To")) == "undisclosed-recipients:;"
    assert len(parts(dsn)) == 3


def test_the_text_part_speaks_like_postfix_and_names_each_recipient() -> None:
    text = parts(bounce())[0].get_content()

    assert text.startswith("This is the mail system at host mail.example.net.")
    assert "I'm sorry to have to inform you that your message could not" in text
    assert (
        "<bob@example.org>: host mx.example.org said: 550 5.1.1 <bob@example.org>:"
        " Recipient address rejected: User unknown"
    ) in text


def test_the_per_message_fields_follow_rfc3464_section_2_2() -> None:
    per_message = status_blocks(bounce(original_envelope_id="QQ314159", arrival=ARRIVAL))[0]

    assert per_message["Reporting-MTA"] == "dns; mail.example.net"
    assert per_message["Original-Envelope-Id"] == "QQ314159"
    assert per_message["Arrival-Date"] == "Sun, 01 Nov 2026 08:00:00 +0000"


def test_the_envelope_id_is_left_out_when_the_client_gave_none() -> None:
    assert "Original-Envelope-Id" not in status_blocks(bounce())[0]


def test_the_per_recipient_fields_follow_rfc3464_section_2_3() -> None:
    recipient = status_blocks(bounce())[1]

    assert recipient["Final-Recipient"] == "rfc822; bob@example.org"
    assert recipient["Action"] == "failed"
    assert recipient["Status"] == "5.1.1"
    assert recipient["Remote-MTA"] == "dns; mx.example.org"
    assert recipient["Diagnostic-Code"] == (
        "smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown"
    )
    assert recipient["Last-Attempt-Date"] == "Sun, 01 Nov 2026 12:30:00 +0000"
    assert "Original-Recipient" not in recipient
    assert "Will-Retry-Until" not in recipient


def test_the_original_recipient_is_shown_when_an_alias_was_expanded() -> None:
    expanded = DsnRecipient(
        address="bob@example.org", reply="5.2.2 Mailbox full", original="board@example.org"
    )
    dsn = bounce(recipients=[expanded])

    block = status_blocks(dsn)[1]
    assert block["Original-Recipient"] == "rfc822; board@example.org"
    assert block["Status"] == "5.2.2"
    # Not an SMTP reply: an X- diagnostic type, as Postfix uses X-Postfix.
    assert block["Diagnostic-Code"] == "X-Mailroom; 5.2.2 Mailbox full"
    assert "<bob@example.org> (expanded from <board@example.org>): 5.2.2 Mailbox full" in (
        parts(dsn)[0].get_content()
    )


def test_an_orcpt_keeps_its_address_type() -> None:
    orcpt = DsnRecipient(
        address="bob@example.org", reply="550 no", original="rfc822;Bob@Example.ORG"
    )

    assert status_blocks(bounce(recipients=[orcpt]))[1]["Original-Recipient"] == (
        "rfc822; Bob@Example.ORG"
    )


def test_a_non_ascii_recipient_is_written_as_rfc6533_utf8_xtext() -> None:
    jose = DsnRecipient(address="josé@example.org", reply="550 5.1.1 unknown")

    assert status_blocks(bounce(recipients=[jose]))[1]["Final-Recipient"] == (
        "utf-8; jos\\x{E9}@example.org"
    )


def test_every_recipient_gets_its_own_block() -> None:
    alice = DsnRecipient(address="alice@example.org", reply="552 5.2.2 Over quota")

    blocks = status_blocks(bounce(recipients=[BOB_REJECTED, alice]))

    assert [b["Final-Recipient"] for b in blocks[1:]] == [
        "rfc822; bob@example.org",
        "rfc822; alice@example.org",
    ]
    assert [b["Status"] for b in blocks[1:]] == ["5.1.1", "5.2.2"]


def test_the_whole_message_comes_back_by_default_as_postfix_does() -> None:
    returned = parts(bounce(ret=None))[2]

    assert returned.get_content_type() == "message/rfc822"
    inner = returned.get_payload(0)
    assert isinstance(inner, EmailMessage)
    assert inner["Subject"] == "Minutes"
    assert inner.get_payload() == "The minutes of Tuesday's meeting.\r\n"


def test_ret_full_returns_the_whole_message() -> None:
    assert parts(bounce(ret="FULL"))[2].get_content_type() == "message/rfc822"


def test_ret_hdrs_returns_only_the_header_section() -> None:
    returned = parts(bounce(ret="HDRS"))[2]

    assert returned.get_content_type() == "text/rfc822-headers"
    text = returned.get_payload()
    assert "Subject: Minutes" in text
    assert "Tuesday" not in text


def test_a_message_over_the_limit_comes_back_as_headers_only() -> None:
    big = ORIGINAL + b"x" * 70 + b"\r\n" * 2000

    returned = parts(bounce(message=big, max_returned=4096))[2]

    assert returned.get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <minutes@example.net>" in returned.get_payload()


def test_headers_larger_than_the_limit_are_cut_at_a_line_end() -> None:
    many = b"".join(b"Received: from relay%d.example\r\n" % n for n in range(500)) + ORIGINAL

    headers = parts(bounce(message=many, ret="HDRS", max_returned=1000))[2].get_payload()

    # relay0-9 take 31 bytes a line, relay10-30 take 32: 982 bytes, and relay31 would not fit.
    assert isinstance(headers, str)
    assert headers.splitlines()[-1] == "Received: from relay30.example"
    assert len(headers.encode()) == 982


def test_a_mime_original_is_returned_as_it_came() -> None:
    mime = (
        b"From: carol@example.net\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"preamble\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--XYZ\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XYZ--\r\n"
    )

    raw = build_dsn(**{**ARGUMENTS, "message": mime})  # type: ignore[arg-type]

    assert mime in raw
    assert [p.get_content_type() for p in parts(parse(raw))] == [
        "text/plain",
        "message/delivery-status",
        "message/rfc822",
    ]


def test_a_message_without_header_fields_returns_an_empty_header_section() -> None:
    returned = parts(bounce(message=b"\r\njust a body\r\n", ret="HDRS"))[2]

    assert returned.get_content_type() == "text/rfc822-headers"
    assert "just a body" not in returned.get_payload()


def test_the_message_may_be_a_stream_and_only_the_limit_is_read() -> None:
    stream = io.BytesIO(ORIGINAL + b"y" * 10_000)

    returned = parts(bounce(message=stream, max_returned=2000))[2]

    assert returned.get_content_type() == "text/rfc822-headers"
    assert stream.tell() == 2001


def test_utf8_in_the_returned_message_survives_byte_for_byte() -> None:
    original = (
        "From: Zoë <zoe@example.net>\r\nTo: bob@example.org\r\n"
        "Subject: Grüße aus Köln\r\n\r\nHällo Bob, 日本語\r\n"
    ).encode()
    raw = build_dsn(
        reporting_mta="mail.example.net",
        original_envelope_id=None,
        arrival=ARRIVAL,
        sender="zoe@example.net",
        recipients=[BOB_REJECTED],
        action="failed",
        ret="FULL",
        message=original,
        now=NOW,
    )

    assert original in raw
    returned = parts(parse(raw))[2]
    assert returned["Content-Transfer-Encoding"] == "8bit"


def test_a_delay_warning_says_it_is_only_a_warning_and_returns_headers() -> None:
    waiting = DsnRecipient(
        address="bob@example.org",
        reply="451 4.7.1 Greylisted, try again later",
        remote_mta="mx.example.org",
        last_attempt=NOW,
        will_retry_until=ARRIVAL + timedelta(days=5),
    )

    dsn = bounce(action="delayed", recipients=[waiting], ret="FULL")

    assert dsn["Subject"] == "Delayed Mail (still being retried)"
    text = parts(dsn)[0].get_content()
    assert "THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE." in text
    assert "Your message could not be delivered for 4 hour(s)." in text
    assert "It will be retried until it is 5 day(s) old." in text
    block = status_blocks(dsn)[1]
    assert block["Action"] == "delayed"
    assert block["Status"] == "4.7.1"
    assert block["Will-Retry-Until"] == "Fri, 06 Nov 2026 08:00:00 +0000"
    assert parts(dsn)[2].get_content_type() == "text/rfc822-headers"


def test_a_success_report_when_asked_for() -> None:
    delivered = DsnRecipient(address="bob@example.org", reply="250 2.0.0 Ok: queued as 4XyZ")

    dsn = bounce(action="delivered", recipients=[delivered])

    assert dsn["Subject"] == "Successful Mail Delivery Report"
    assert status_blocks(dsn)[1]["Status"] == "2.0.0"


def test_hostile_text_cannot_add_header_fields() -> None:
    evil = DsnRecipient(
        address="bob@example.org\r\nBcc: victim@example.com",
        reply="550 no\r\nX-Injected: yes",
        remote_mta="mx\r\nX-Injected: yes",
    )

    dsn = bounce(recipients=[evil], sender="carol@example.net\r\nBcc: victim@example.com")

    assert "Bcc" not in dsn
    assert all("X-Injected" not in block for block in status_blocks(dsn))


def test_naive_times_are_taken_as_utc() -> None:
    dsn = bounce(now=datetime(2026, 11, 1, 12, 30), arrival=datetime(2026, 11, 1, 8, 0))

    assert header(dsn, "Date").datetime == NOW
    assert status_blocks(dsn)[0]["Arrival-Date"] == "Sun, 01 Nov 2026 08:00:00 +0000"


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("550 5.1.1 <bob@example.org>: Recipient address rejected", "5.1.1"),
        ("550-5.7.1 Relaying denied\r\n550 5.7.1 Go away", "5.7.1"),
        ("5.1.1 no such user", "5.1.1"),
        ("452 4.2.2 Mailbox full", "4.2.2"),
        ("250 2.0.0 Ok", "2.0.0"),
        ("550 4.2.2 contradicts itself", "5.2.2"),  # the reply code wins, as in Postfix
        ("550 Requested action not taken", "5.0.0"),
        ("421 Service not available", "4.0.0"),
        ("connection timed out", "5.0.0"),
        ("354 4.2.2 not a final reply", "5.0.0"),
        ("", "5.0.0"),
        ("550 5.1.1000 too long a detail", "5.0.0"),
        ("5.01.001 leading zeros", "5.1.1"),
    ],
)
def test_the_enhanced_status_is_taken_from_the_reply(reply: str, status: str) -> None:
    assert parse_enhanced_status(reply) == status


def test_a_reply_without_any_code_gets_the_default_for_its_action() -> None:
    assert parse_enhanced_status("connection timed out", default="4.0.0") == "4.0.0"


@pytest.mark.parametrize(
    ("notify", "action", "expected"),
    [
        (None, "failed", True),
        (None, "delayed", True),
        (None, "delivered", False),
        (frozenset({"FAILURE"}), "failed", True),
        (frozenset({"FAILURE"}), "delayed", False),
        (frozenset({"DELAY"}), "failed", False),
        (frozenset({"DELAY"}), "delayed", True),
        (frozenset({"SUCCESS"}), "delivered", True),
        (frozenset({"SUCCESS"}), "failed", False),
        (frozenset({"success", "failure"}), "failed", True),
        (frozenset({"NEVER"}), "failed", False),
        (frozenset({"NEVER"}), "delayed", False),
        (frozenset({"NEVER", "FAILURE"}), "failed", False),
        (frozenset(), "failed", False),
    ],
)
def test_notify_decides_which_notices_are_sent(
    notify: frozenset[str] | None, action: str, expected: bool
) -> None:
    assert should_notify(notify, action) is expected  # type: ignore[arg-type]


def test_a_dsn_goes_from_the_null_sender_to_the_original_sender() -> None:
    assert dsn_envelope("carol@example.net") == ("", "carol@example.net")


def test_no_dsn_is_ever_sent_to_the_null_sender() -> None:
    assert dsn_envelope("") is None


def test_a_bounced_bounce_goes_to_the_postmaster_once() -> None:
    route = {"postmaster": "postmaster@example.org", "double_bounce_sender": "double-bounce@mx"}

    assert dsn_envelope("", **route) == ("double-bounce@mx", "postmaster@example.org")
    # If the postmaster's notice fails too, it is dropped: no loop.
    assert dsn_envelope("Double-Bounce@mx", **route) is None
    assert dsn_envelope("carol@example.net", **route) == ("", "carol@example.net")


def test_a_postmaster_without_a_double_bounce_sender_is_refused() -> None:
    with pytest.raises(ValueError, match="together"):
        dsn_envelope("", postmaster="postmaster@example.org")
