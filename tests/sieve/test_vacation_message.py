"""The vacation reply's octets (RFC 5230 §5, RFC 3834): fields, encodings, :mime, and
that nothing a script or a sender wrote can add a field."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message import parse_message
from mailroom.sieve.actions import VacationReply
from mailroom.sieve.vacation_message import build_reply

DATE = datetime(2024, 7, 1, 9, 0, 0, tzinfo=UTC)
REPLY = VacationReply(
    sender="bob@example.net",
    handle="h",
    period_seconds=86400,
    from_address="alice@example.org",
    subject="Auto: Café tomorrow",
    reason="I'm away.\nBack on Monday.",
    in_reply_to="<m1@example.net>",
    references="<m0@example.net> <m1@example.net>",
)


def build(reply: VacationReply = REPLY) -> bytes:
    return build_reply(reply, date=DATE, message_id="<v1@mail.example.org>")


def read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text(message: EmailMessage) -> str:
    """The body as text, line ends as LF (the stdlib keeps the wire's CRLF)."""
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def test_the_reply_has_the_fields_rfc5230_asks_for() -> None:
    data = build()
    message = read(data)
    assert message["From"] == "alice@example.org"
    assert message["To"] == "bob@example.net"
    assert message["Subject"] == "Auto: Café tomorrow"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<m1@example.net>"
    assert message["References"] == "<m0@example.net> <m1@example.net>"
    assert message["Message-ID"] == "<v1@mail.example.org>"
    assert message["Date"] == "Mon, 01 Jul 2024 09:00:00 +0000"
    assert message.get_content_type() == "text/plain"
    assert text(message) == "I'm away.\nBack on Monday.\n"
    assert b"\r\n\r\nI'm away.\r\nBack on Monday.\r\n" in data
    assert all(line.endswith(b"\r") for line in data.split(b"\n")[:-1])


def test_a_non_ascii_reason_is_quoted_printable() -> None:
    data = build(VacationReply(**{**REPLY.__dict__, "reason": "Je suis absente. À lundi."}))
    assert data.isascii()
    message = read(data)
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert text(message) == "Je suis absente. À lundi.\n"


def test_a_display_name_in_from_is_kept_and_encoded() -> None:
    reply = VacationReply(**{**REPLY.__dict__, "from_address": "Zoë Ålander <zoe@example.org>"})
    message = read(build(reply))
    assert message["From"].addresses[0].display_name == "Zoë Ålander"
    assert message["From"].addresses[0].addr_spec == "zoe@example.org"


def test_mime_reason_gives_its_content_fields_and_drops_the_rest() -> None:
    entity = (
        "Content-Type: multipart/alternative; boundary=x\r\n"
        "Bcc: everyone@example.org\r\n"
        "\r\n"
        "--x\r\nContent-Type: text/plain\r\n\r\naway\r\n"
        "--x\r\nContent-Type: text/html\r\n\r\n<p>away</p>\r\n--x--\r\n"
    )
    data = build(VacationReply(**{**REPLY.__dict__, "reason": entity, "mime": True}))
    message = read(data)
    assert message["Bcc"] is None
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_a_mime_reason_without_a_header_is_plain_text() -> None:
    data = build(VacationReply(**{**REPLY.__dict__, "reason": "just text", "mime": True}))
    assert text(read(data)) == "just text\n"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.text(max_size=100), st.text(max_size=100))
def test_no_value_can_add_a_field(subject: str, in_reply_to: str, from_address: str) -> None:
    reply = VacationReply(
        **{
            **REPLY.__dict__,
            "subject": subject,
            "in_reply_to": in_reply_to or None,
            "references": in_reply_to or None,
            "from_address": from_address or "alice@example.org",
        }
    )
    data = build(reply)
    names = [f.name for f in parse_message(data).fields]
    expected = ["From", "To", "Subject", "Date", "Message-ID"]
    if in_reply_to:
        expected += ["In-Reply-To", "References"]
    expected += ["Auto-Submitted", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]
    assert names == expected
