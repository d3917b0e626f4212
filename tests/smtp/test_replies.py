"""Replies on the wire: RFC 5321 §4.2 lines, RFC 2034 enhanced codes, nothing a client
could mistake for another line."""

from __future__ import annotations

import pytest

from mailroom.smtp import replies
from mailroom.smtp.replies import SmtpError, SmtpReply


def test_a_one_line_reply_carries_its_enhanced_code() -> None:
    assert replies.RECIPIENT_OK.encode() == b"250 2.1.5 Ok\r\n"


def test_enhanced_codes_are_left_out_for_a_client_not_offered_them() -> None:
    assert replies.RECIPIENT_OK.encode(enhanced_codes=False) == b"250 Ok\r\n"


def test_a_multi_line_reply_repeats_code_and_enhanced_code_on_every_line() -> None:
    reply = SmtpReply(550, "5.7.1", "Refused.\nSee the postmaster.")
    assert reply.encode() == b"550-5.7.1 Refused.\r\n550 5.7.1 See the postmaster.\r\n"


def test_the_ehlo_reply_lists_extensions_without_enhanced_codes() -> None:
    reply = replies.ehlo_reply("mx.example.org", ["PIPELINING", "SIZE 52428800", "8BITMIME"])
    assert reply.encode() == (
        b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 8BITMIME\r\n"
    )


def test_the_greeting_names_the_host() -> None:
    assert replies.greeting("mx.example.org").encode() == b"220 mx.example.org ESMTP Mailroom\r\n"


def test_the_intermediate_354_has_no_enhanced_code() -> None:
    assert replies.START_DATA.encode() == b"354 End data with <CR><LF>.<CR><LF>\r\n"


def test_a_reply_with_no_text_is_just_the_code() -> None:
    assert replies.auth_challenge("").encode() == b"334\r\n"


def test_a_carriage_return_in_a_text_cannot_start_a_new_reply_line() -> None:
    reply = SmtpReply(250, "2.0.0", "Ok\r250 2.0.0 forged")
    assert reply.encode() == b"250 2.0.0 Ok?250 2.0.0 forged\r\n"


def test_non_ascii_text_is_replaced_unless_the_client_sent_smtputf8() -> None:
    reply = replies.unknown_user("jöran@example.org")
    assert b"<j?ran@example.org>" in reply.encode()
    assert "<jöran@example.org>".encode() in reply.encode(utf8=True)


def test_a_long_text_is_wrapped_into_lines_of_at_most_512_octets() -> None:
    reply = SmtpReply(554, "5.7.1", " ".join(["word"] * 300))
    lines = reply.encode().split(b"\r\n")[:-1]
    assert len(lines) > 1
    assert all(len(line) + 2 <= 512 for line in lines)
    assert all(line.startswith(b"554-5.7.1 ") for line in lines[:-1])
    assert lines[-1].startswith(b"554 5.7.1 ")


def test_client_text_echoed_in_a_reply_is_cut_short() -> None:
    reply = replies.unsupported_option("X" * 5000)
    assert reply.code == 555
    assert len(reply.text) < 150


@pytest.mark.parametrize(
    ("code", "enhanced"),
    [
        (199, None),
        (600, None),
        (260, None),
        (250, "5.0.0"),
        (550, "2.0.0"),
        (354, "3.0.0"),
        (250, "2.0"),
        (250, "2.0.1234"),
    ],
)
def test_a_reply_with_an_impossible_code_cannot_be_made(code: int, enhanced: str | None) -> None:
    with pytest.raises(ValueError):
        SmtpReply(code, enhanced, "x")


def test_an_smtp_error_carries_its_reply() -> None:
    error = SmtpError(replies.NEED_MAIL)
    assert error.reply == replies.NEED_MAIL
    assert "503 5.5.1" in str(error)


def test_with_detail_adds_what_was_wrong() -> None:
    detailed = replies.BAD_SENDER_SYNTAX.with_detail("the domain is empty")
    assert detailed.encode() == b"501 5.1.7 Bad sender address syntax: the domain is empty\r\n"


@pytest.mark.parametrize(
    ("reply", "code", "enhanced"),
    [
        (replies.SYNTAX_ERROR, 500, "5.5.2"),
        (replies.UNKNOWN_COMMAND, 500, "5.5.2"),
        (replies.PARAMETER_ERROR, 501, "5.5.4"),
        (replies.BAD_SEQUENCE, 503, "5.5.1"),
        (replies.NOT_IMPLEMENTED, 502, "5.5.1"),
        (replies.UNKNOWN_PARAMETER, 555, "5.5.4"),
        (replies.LINE_TOO_LONG, 500, "5.5.6"),
        (replies.MESSAGE_TOO_BIG, 552, "5.3.4"),
        (replies.TOO_MANY_RECIPIENTS, 452, "4.5.3"),
        (replies.unknown_user("a@example.org"), 550, "5.1.1"),
        (replies.relay_denied("a@example.org"), 554, "5.7.1"),
        (replies.sender_not_owned("a@example.org", "bob"), 553, "5.7.1"),
        (replies.AUTH_REQUIRED, 530, "5.7.0"),
        (replies.ENCRYPTION_REQUIRED, 530, "5.7.0"),
        (replies.MECHANISM_NEEDS_ENCRYPTION, 538, "5.7.11"),
        (replies.AUTH_FAILED, 535, "5.7.8"),
        (replies.TEMPORARY, 451, "4.3.0"),
        (replies.shutting_down("mx.example.org"), 421, "4.3.2"),
        (replies.TOO_MANY_HOPS, 554, "5.4.6"),
        (replies.BAD_SENDER_SYNTAX, 501, "5.1.7"),
        (replies.BAD_RECIPIENT_SYNTAX, 501, "5.1.3"),
        (replies.SMTPUTF8_REQUIRED, 553, "5.6.7"),
    ],
)
def test_the_common_replies_have_their_codes(reply: SmtpReply, code: int, enhanced: str) -> None:
    assert (reply.code, reply.enhanced) == (code, enhanced)


def test_a_421_names_the_host_first() -> None:
    assert replies.shutting_down("mx.example.org").encode().startswith(b"421 4.3.2 mx.example.org ")
