"""vacation (RFC 5230, RFC 6131): arguments, periods, handles, and every case in which
no reply is sent because of the message itself."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.sieve import check_script
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
from tests.support.sieve_world import LIMITS, deliver, message

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


# Scripts: RFC 5230's examples (§4.8, §9) and RFC 6131's, through the interpreter.

TO_ROADRUNNER = message(
    "From: coyote@desert.example.org\n"
    "To: roadrunner@acme.example.com\n"
    "Subject: cyrus is broken\n"
    "Message-ID: <c1@desert.example.org>"
)


def replies(script: str, raw: bytes = TO_ROADRUNNER, **kwargs: object) -> list[VacationReply]:
    outcome = deliver(script, raw, **kwargs)  # type: ignore[arg-type]
    assert outcome.failed is None, outcome.failed
    return [a for a in outcome.actions if isinstance(a, VacationReply)]


def test_rfc5230_choose_the_reason_by_subject() -> None:
    script = """require "vacation";
    if header :contains "subject" "cyrus" {
        vacation "I'm out -- send mail to cyrus-bugs";
    } else {
        vacation "I'm out -- call me at +1 304 555 0123";
    }"""
    (reply,) = replies(script)
    assert reply.reason == "I'm out -- send mail to cyrus-bugs"
    assert reply.sender == "coyote@desert.example.org"
    assert reply.subject == "Auto: cyrus is broken"
    assert reply.in_reply_to == "<c1@desert.example.org>"


def test_rfc5230_subject_from_a_variable() -> None:
    script = """require ["vacation", "variables"];
    if header :matches "subject" "*" {
        vacation :subject "Automatic response to: ${1}" "I'm away";
    }"""
    (reply,) = replies(script)
    assert reply.subject == "Automatic response to: cyrus is broken"


def test_rfc5230_days_and_addresses() -> None:
    script = """require "vacation";
    vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
    "I'm away until October 19.  If it's an emergency, call 911, I guess." ;"""
    to_alias = TO_ROADRUNNER.replace(b"To: roadrunner@acme.example.com", b"To: tjs@example.edu")
    (reply,) = replies(script, to_alias)
    assert reply.period_seconds == 23 * 86400 and reply.from_address == "tjs@example.edu"
    elsewhere = TO_ROADRUNNER.replace(b"To: roadrunner@acme.example.com", b"To: all@example.edu")
    assert replies(script, elsewhere) == []


def test_rfc5230_redirect_or_vacation() -> None:
    script = """require "vacation";
    if header :contains "from" "boss@example.edu" {
        redirect "pleeeeeease@example.edu";
    } else {
        vacation "Sorry, I'm away, I'll read your message when I get around to it.";
    }"""
    assert len(replies(script)) == 1
    boss = TO_ROADRUNNER.replace(b"From: coyote@desert.example.org", b"From: boss@example.edu")
    assert replies(script, boss) == []


def test_rfc5230_mime_reason_and_handle() -> None:
    script = """require "vacation";
    vacation :mime :handle "ran-away" text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"
 "http://www.w3.org/TR/REC-html40/strict.dtd">
<HTML><HEAD><TITLE>How to relax</TITLE>
<BASE HREF="http://home.example.com/pictures/"></HEAD>
<BODY><P>I'm at the <A HREF="beach.gif">beach</A> relaxing.
Mmmm, <A HREF="ocean.gif">surf</A>...
</BODY></HTML>

--foo--
.
;"""
    (reply,) = replies(script)
    assert reply.mime and reply.handle == "ran-away"
    assert reply.reason.startswith("Content-Type: multipart/alternative; boundary=foo")


def test_rfc6131_seconds_needs_its_capability_and_is_clamped() -> None:
    assert check_script(b'require "vacation"; vacation :seconds 60 "x";', name="s", limits=LIMITS)
    script = 'require ["vacation", "vacation-seconds"]; vacation :seconds 1800 "back soon";'
    (reply,) = replies(script)
    assert reply.period_seconds == LIMITS.vacation_min_period_seconds
    no_minimum = replace(LIMITS, vacation_min_period_seconds=0)
    outcome = deliver(script.replace("1800", "0"), TO_ROADRUNNER, limits=no_minimum)
    (reply,) = [a for a in outcome.actions if isinstance(a, VacationReply)]
    assert reply.period_seconds == 0


def test_lists_and_the_null_sender_get_no_reply_and_a_log_line() -> None:
    script = 'require "vacation"; vacation "away";'
    outcome = deliver(script, HEADER_LIST)
    assert not [a for a in outcome.actions if isinstance(a, VacationReply)]
    assert any("vacation not sent" in line for line in outcome.log)
    assert replies(script, sender="") == []


HEADER_LIST = TO_ROADRUNNER.replace(b"Subject:", b"List-Id: <road.acme.example.com>\r\nSubject:")


def test_vacation_conflicts_with_reject_and_twice_is_an_error() -> None:
    outcome = deliver('require ["vacation", "reject"]; vacation "a"; reject "no";', TO_ROADRUNNER)
    assert outcome.failed is not None
    outcome = deliver('require "vacation"; vacation "a"; vacation "b";', TO_ROADRUNNER)
    assert outcome.failed is not None and "one vacation" in outcome.failed


@pytest.mark.parametrize(
    "script",
    [
        'require "vacation"; vacation :from "not an address" "x";',
        'require "vacation"; vacation :addresses ["ok@example.org", "bad"] "x";',
        'require "vacation"; vacation :days 1 :seconds 1 "x";',
        'vacation "x";',
    ],
)
def test_invalid_vacations_are_refused_when_compiled(script: str) -> None:
    assert check_script(script.encode(), name="s", limits=LIMITS) is not None
