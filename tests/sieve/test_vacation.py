"""vacation (RFC 5230, RFC 6131): arguments, periods, handles, and every case in which
no reply is sent because of the message itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.sieve.actions import VacationReply
from mailroom.sieve.context import Envelope
from mailroom.sieve.vacation import (
    DAY,
    MAX_SUBJECT_CHARS,
    Declined,
    VacationPeriods,
    VacationRequest,
    argument_errors,
    decide_vacation,
    default_handle,
    period_seconds,
    reply_subject,
)

OWN = ("alice@example.org", "a.smith@example.org")
ENVELOPE = Envelope(sender="bob@example.net", recipient="alice@example.org")
PERIODS = VacationPeriods(minimum=DAY, default=7 * DAY, maximum=30 * DAY)
HEADER = (
    b"From: Bob <bob@example.net>\r\n"
    b"To: Alice <alice@example.org>\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?= tomorrow\r\n"
    b"Message-ID: <m1@example.net>\r\n"
    b"References: <m0@example.net>\r\n"
)
REQUEST = VacationRequest(reason="I'm away until next week.")


def decide(
    request: VacationRequest = REQUEST,
    header: bytes = HEADER,
    envelope: Envelope = ENVELOPE,
) -> VacationReply | Declined:
    return decide_vacation(
        request, envelope=envelope, header=header, own_addresses=OWN, periods=PERIODS
    )


def test_a_personal_message_gets_a_reply() -> None:
    reply = decide()
    assert isinstance(reply, VacationReply)
    assert reply.sender == "bob@example.net"
    assert reply.from_address == "alice@example.org"
    assert reply.subject == "Auto: Café tomorrow"
    assert reply.period_seconds == 7 * DAY
    assert reply.in_reply_to == "<m1@example.net>"
    assert reply.references == "<m0@example.net> <m1@example.net>"
    assert reply.reason == REQUEST.reason and not reply.mime


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (b"List-Id: <dev.lists.example.net>\r\n", "mailing list"),
        (b"List-Unsubscribe: <mailto:x@example.net>\r\n", "mailing list"),
        (b"Auto-Submitted: auto-replied\r\n", "Auto-Submitted"),
        (b"Auto-Submitted: auto-generated (daily report)\r\n", "Auto-Submitted"),
        (b"Precedence: bulk\r\n", "Precedence"),
        (b"Precedence: JUNK\r\n", "Precedence"),
        (b"Precedence: list\r\n", "Precedence"),
        (b"X-Auto-Response-Suppress: DR, OOF\r\n", "X-Auto-Response-Suppress"),
    ],
)
def test_automated_and_list_mail_is_not_answered(extra: bytes, why: str) -> None:
    result = decide(header=HEADER + extra)
    assert isinstance(result, Declined) and why in result.why


def test_auto_submitted_no_is_answered() -> None:
    assert isinstance(decide(header=HEADER + b"Auto-Submitted: no\r\n"), VacationReply)
    assert isinstance(decide(header=HEADER + b"Precedence: first-class\r\n"), VacationReply)


@pytest.mark.parametrize("sender", ["", "<>", "  "])
def test_the_null_sender_is_not_answered(sender: str) -> None:
    result = decide(envelope=Envelope(sender=sender, recipient="alice@example.org"))
    assert isinstance(result, Declined) and "null sender" in result.why


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@example.net",
        "mailer-daemon@example.net",
        "owner-dev@lists.example.net",
        "dev-request@lists.example.net",
        "linux-kernel-owner@vger.example.net",
        "dev-bounces@lists.example.net",
        "LISTSERV@example.net",
        "majordomo@example.net",
    ],
)
def test_system_senders_are_not_answered(sender: str) -> None:
    result = decide(envelope=Envelope(sender=sender, recipient="alice@example.org"))
    assert isinstance(result, Declined) and "system address" in result.why


@pytest.mark.parametrize("sender", ["alice@example.org", "A.Smith@Example.org", "alt@example.com"])
def test_own_addresses_are_not_answered(sender: str) -> None:
    request = VacationRequest(reason="away", addresses=("Alt <alt@example.com>",))
    result = decide(request, envelope=Envelope(sender=sender, recipient="alice@example.org"))
    assert isinstance(result, Declined) and "own addresses" in result.why


def test_mail_not_addressed_to_the_account_is_not_answered() -> None:
    # RFC 5230 §4.5: e.g. a Bcc through an alias the account does not name.
    header = HEADER.replace(b"To: Alice <alice@example.org>", b"To: team@example.org")
    result = decide(header=header)
    assert isinstance(result, Declined) and "To, Cc or Bcc" in result.why


def test_addresses_and_own_addresses_count_as_the_account() -> None:
    header = HEADER.replace(b"To: Alice <alice@example.org>", b"To: team@example.org")
    cc = header + b"Cc: A Smith <A.SMITH@example.org>\r\n"
    reply = decide(header=cc)
    assert isinstance(reply, VacationReply) and reply.from_address == "a.smith@example.org"
    request = VacationRequest(reason="away", addresses=("team@example.org",))
    reply = decide(request, header=header)
    assert isinstance(reply, VacationReply) and reply.from_address == "team@example.org"
    resent = header + b"Resent-To: alice@example.org\r\n"
    assert isinstance(decide(header=resent), VacationReply)


def test_from_is_used_only_when_it_is_the_accounts() -> None:
    own = VacationRequest(reason="away", from_address="Alice Smith <a.smith@example.org>")
    reply = decide(own)
    assert isinstance(reply, VacationReply)
    assert reply.from_address == "Alice Smith <a.smith@example.org>"
    foreign = VacationRequest(reason="away", from_address="ceo@bank.example")
    reply = decide(foreign)
    assert isinstance(reply, VacationReply) and reply.from_address == "alice@example.org"


def test_subject_argument_and_defaults() -> None:
    reply = decide(VacationRequest(reason="away", subject="Out of office"))
    assert isinstance(reply, VacationReply) and reply.subject == "Out of office"
    assert reply_subject(None, None) == "Automated reply"
    assert reply_subject("", b"Hi") == "Auto: Hi"
    assert reply_subject(None, b"a\r\n  folded\tsubject") == "Auto: a folded subject"
    assert len(reply_subject(None, b"x" * 1000)) == MAX_SUBJECT_CHARS


def test_periods_are_clamped_to_the_sites_limits() -> None:
    assert period_seconds(VacationRequest("r", days=3), PERIODS) == 3 * DAY
    assert period_seconds(VacationRequest("r", days=0), PERIODS) == DAY
    assert period_seconds(VacationRequest("r", days=365), PERIODS) == 30 * DAY
    assert period_seconds(VacationRequest("r", seconds=60), PERIODS) == DAY
    assert period_seconds(VacationRequest("r"), PERIODS) == 7 * DAY
    no_minimum = VacationPeriods(minimum=0, default=DAY, maximum=0)
    assert period_seconds(VacationRequest("r", seconds=0), no_minimum) == 0  # always answer
    assert period_seconds(VacationRequest("r", days=1000), no_minimum) == 1000 * DAY


def test_handles_follow_the_arguments_unless_given() -> None:
    # RFC 5230 §4.2: the same reason/subject/from/mime share one handle.
    assert default_handle(REQUEST) == default_handle(VacationRequest(reason=REQUEST.reason))
    assert default_handle(REQUEST) != default_handle(VacationRequest(reason="back soon"))
    assert default_handle(REQUEST) != default_handle(
        VacationRequest(reason=REQUEST.reason, mime=True)
    )
    reply = decide(VacationRequest(reason="away", handle="summer"))
    assert isinstance(reply, VacationReply) and reply.handle == "summer"


def test_argument_errors() -> None:
    assert argument_errors(REQUEST) == []
    assert argument_errors(VacationRequest("r", days=1, seconds=1))
    assert argument_errors(VacationRequest("r", from_address="not an address"))
    assert argument_errors(VacationRequest("r", from_address="a@b, c@d"))
    assert argument_errors(VacationRequest("r", addresses=("ok@example.org", "@")))
    assert argument_errors(VacationRequest("r", from_address="a@b\r\nBcc: x@y"))


def test_references_are_trimmed_to_the_newest() -> None:
    refs = b" ".join(b"<r%d@x>" % i for i in range(50))
    reply = decide(header=HEADER.replace(b"<m0@example.net>", refs))
    assert isinstance(reply, VacationReply) and reply.references is not None
    ids = reply.references.split()
    assert len(ids) == 20 and ids[-1] == "<m1@example.net>"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=100))
def test_hostile_headers_never_raise(junk: bytes, subject: str) -> None:
    header = HEADER + b"Subject: " + junk + b"\r\n" + junk
    result = decide(VacationRequest(reason="r", subject=subject or None), header=header)
    if isinstance(result, VacationReply):
        assert "\r" not in result.subject and "\n" not in result.subject
        assert len(result.subject) <= MAX_SUBJECT_CHARS
