"""What the POP3 server writes: status lines, SASL challenges, listings, and messages as
multi-line answers that a client reads back octet for octet."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.pop3.wire import (
    IN_USE,
    LOGIN_DELAY,
    MAX_LINE,
    SYS_PERM,
    SYS_TEMP,
    TERMINATOR,
    continuation,
    dot_stuffed,
    dot_stuffed_parts,
    err,
    multiline,
    ok,
    top,
)

FAST = settings(max_examples=500, deadline=None)

MESSAGE = (
    b"From: alice@example.org\r\n"
    b"Subject: dots\r\n"
    b"\r\n"
    b"first line\r\n"
    b".second line starts with a dot\r\n"
    b".\r\n"
    b"last line\r\n"
)


def read_multiline(data: bytes) -> bytes:
    """What a client gets from a multi-line answer (RFC 1939 §3): the lines up to the one
    that is ".", each with one leading "." taken off, joined again with CRLF."""
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert lines[-1] == b"."
    body = [line[1:] if line.startswith(b".") else line for line in lines[:-1]]
    return b"".join(line + b"\r\n" for line in body)


# --- Status lines ------------------------------------------------------------------


def test_ok_with_text() -> None:
    assert ok("2 320") == b"+OK 2 320\r\n"


def test_ok_without_text_has_no_trailing_space() -> None:
    assert ok() == b"+OK\r\n"


def test_err_with_text() -> None:
    assert err("No such message.") == b"-ERR No such message.\r\n"


def test_err_with_a_response_code() -> None:
    assert err("Mailbox is locked.", IN_USE) == b"-ERR [IN-USE] Mailbox is locked.\r\n"


@pytest.mark.parametrize("code", [LOGIN_DELAY, SYS_TEMP, SYS_PERM, "AUTH"])
def test_err_writes_each_rfc_2449_and_3206_code_in_brackets(code: str) -> None:
    assert err("Try again.", code) == b"-ERR [" + code.encode() + b"] Try again.\r\n"


@pytest.mark.parametrize("code", ["", "IN USE", "SYS/", "/TEMP", "A]B", "SYS//TEMP", "É"])
def test_err_refuses_a_code_outside_the_rfc_2449_grammar(code: str) -> None:
    with pytest.raises(ValueError):
        err("text", code)


@pytest.mark.parametrize("text", ["two\r\nlines", "bare\nlf", "bare\rcr", "nul\x00"])
def test_a_text_that_would_break_the_line_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ok(text)
    with pytest.raises(ValueError):
        err(text)


def test_a_status_line_may_be_512_octets_with_crlf_but_no_more() -> None:
    longest = "x" * (MAX_LINE - len(b"+OK \r\n"))
    assert len(ok(longest)) == MAX_LINE
    with pytest.raises(ValueError):
        ok(longest + "x")


def test_a_status_line_is_measured_in_octets_of_utf8() -> None:
    with pytest.raises(ValueError):
        err("é" * 300)


# --- SASL challenges ---------------------------------------------------------------


def test_a_challenge_is_plus_space_and_base64() -> None:
    # run_exchange hands the challenge over already encoded.
    assert continuation(base64.b64encode(b"Username:")) == b"+ VXNlcm5hbWU6\r\n"


def test_a_challenge_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError):
        continuation(b"Username:\r\n")


def test_an_empty_challenge_is_plus_space_alone() -> None:
    assert continuation(b"") == b"+ \r\n"


# --- Listings ----------------------------------------------------------------------


def test_a_listing_is_its_lines_then_the_terminator() -> None:
    assert multiline([b"1 120", b"2 200"]) == b"1 120\r\n2 200\r\n.\r\n"


def test_an_empty_listing_is_the_terminator_alone() -> None:
    assert multiline([]) == b".\r\n"


def test_a_listing_line_starting_with_a_dot_is_stuffed() -> None:
    assert multiline([b".hidden"]) == b"..hidden\r\n.\r\n"


def test_a_listing_line_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError):
        multiline([b"1 120\r\n.\r\n"])


# --- RETR: dot-stuffing ------------------------------------------------------------


def test_lines_starting_with_a_dot_get_another_dot() -> None:
    assert dot_stuffed(MESSAGE) == (
        b"From: alice@example.org\r\n"
        b"Subject: dots\r\n"
        b"\r\n"
        b"first line\r\n"
        b"..second line starts with a dot\r\n"
        b"..\r\n"
        b"last line\r\n"
        b".\r\n"
    )


def test_a_dot_at_the_very_start_of_the_message_is_stuffed() -> None:
    assert dot_stuffed(b".From: x\r\n") == b"..From: x\r\n.\r\n"


def test_a_message_without_a_final_crlf_gets_one_before_the_terminator() -> None:
    assert dot_stuffed(b"Subject: x\r\n\r\nno end") == b"Subject: x\r\n\r\nno end\r\n.\r\n"


def test_a_message_ending_in_a_lone_dot_without_crlf_is_stuffed_and_ended() -> None:
    assert dot_stuffed(b"a\r\n.") == b"a\r\n..\r\n.\r\n"


def test_an_empty_message_is_one_empty_line() -> None:
    assert dot_stuffed(b"") == b"\r\n.\r\n"


def test_a_dot_after_a_bare_lf_is_stuffed_too_so_no_lf_reader_stops_early() -> None:
    assert dot_stuffed(b"a\n.\r\nb\r\n") == b"a\n..\r\nb\r\n.\r\n"


def test_dots_inside_a_line_are_left_alone() -> None:
    assert dot_stuffed(b"a.b\r\n...\r\n") == b"a.b\r\n....\r\n.\r\n"


def test_a_multi_megabyte_message_is_stuffed_whole() -> None:
    message = b"line of text\r\n.dot line\r\n" * 200_000
    stuffed = dot_stuffed(message)
    assert len(stuffed) == len(message) + 200_000 + len(TERMINATOR)
    assert read_multiline(stuffed) == message


@given(st.binary(max_size=300))
def test_stuffed_parts_join_to_the_answer_and_hold_an_unstuffed_message_uncopied(
    message: bytes,
) -> None:
    parts = dot_stuffed_parts(message)
    assert b"".join(parts) == dot_stuffed(message)
    if b"\n." not in message and not message.startswith(b"."):
        assert any(part is message for part in parts)


# --- TOP -----------------------------------------------------------------------------


def test_top_gives_the_header_the_blank_line_and_the_first_lines() -> None:
    assert top(MESSAGE, 2) == (
        b"From: alice@example.org\r\n"
        b"Subject: dots\r\n"
        b"\r\n"
        b"first line\r\n"
        b"..second line starts with a dot\r\n"
        b".\r\n"
    )


def test_top_with_zero_lines_gives_the_header_and_the_blank_line() -> None:
    assert top(MESSAGE, 0) == b"From: alice@example.org\r\nSubject: dots\r\n\r\n.\r\n"


def test_top_with_more_lines_than_the_body_has_gives_the_whole_message() -> None:
    assert top(MESSAGE, 1000) == dot_stuffed(MESSAGE)


def test_top_with_exactly_the_body_lines_gives_the_whole_message() -> None:
    assert top(MESSAGE, 4) == dot_stuffed(MESSAGE)


def test_top_of_a_body_whose_last_line_lacks_crlf_sends_that_line_ended() -> None:
    message = b"Subject: x\r\n\r\none\r\ntwo"
    assert top(message, 2) == b"Subject: x\r\n\r\none\r\ntwo\r\n.\r\n"
    assert top(message, 1) == b"Subject: x\r\n\r\none\r\n.\r\n"


def test_top_of_a_message_without_a_body_is_the_header() -> None:
    assert top(b"Subject: x\r\n\r\n", 5) == b"Subject: x\r\n\r\n.\r\n"


def test_top_of_a_message_without_a_blank_line_is_all_header() -> None:
    message = b"Subject: x\r\nFrom: y\r\n"
    assert top(message, 0) == b"Subject: x\r\nFrom: y\r\n.\r\n"


def test_top_of_a_message_with_an_empty_header_starts_at_the_blank_line() -> None:
    assert top(b"\r\nbody one\r\nbody two\r\n", 1) == b"\r\nbody one\r\n.\r\n"


def test_top_refuses_a_negative_line_count() -> None:
    with pytest.raises(ValueError):
        top(MESSAGE, -1)


# --- Properties ----------------------------------------------------------------------

# Lines as a message holds them: any octets but LF (a lone CR stays inside a line), with
# dots and empty lines more often than chance would bring them.
line_strategy = st.one_of(
    st.binary(max_size=40).filter(lambda line: b"\n" not in line),
    st.sampled_from([b"", b".", b"..", b".x", b"\r", b".\r", b"From: a"]),
)
messages = st.builds(
    lambda lines, ended: b"\r\n".join(lines) + (b"\r\n" if ended else b""),
    st.lists(line_strategy, max_size=30),
    st.booleans(),
)


def with_final_crlf(message: bytes) -> bytes:
    return message if message.endswith(b"\r\n") else message + b"\r\n"


@FAST
@given(messages)
def test_a_client_unstuffing_the_answer_gets_the_message_back(message: bytes) -> None:
    assert read_multiline(dot_stuffed(message)) == with_final_crlf(message)


@FAST
@given(st.binary(max_size=300))
def test_the_terminator_appears_only_at_the_end_whatever_the_octets(message: bytes) -> None:
    stuffed = dot_stuffed(message)
    assert stuffed.endswith(b"\r\n.\r\n")
    body = stuffed[: -len(TERMINATOR)]
    # No line (split at CRLF or at a bare LF) of the body is a lone ".".
    assert not body.startswith(b".\r\n") and not body.startswith(b".\n")
    assert b"\n.\r\n" not in body and b"\n.\n" not in body
    assert stuffed.count(b"\n.\r\n") == 1


@FAST
@given(messages, st.integers(min_value=0, max_value=40))
def test_top_is_a_stuffed_prefix_of_the_message_ending_at_a_line_end(
    message: bytes, lines: int
) -> None:
    sent = read_multiline(top(message, lines))
    assert with_final_crlf(message).startswith(sent)
    assert top(message, lines) == dot_stuffed(sent)


@FAST
@given(st.lists(st.binary(max_size=20), max_size=10), st.integers(min_value=0, max_value=12))
def test_top_keeps_the_header_and_exactly_the_lines_asked_for(
    body_lines: list[bytes], lines: int
) -> None:
    body_lines = [line.replace(b"\r", b"").replace(b"\n", b"") for line in body_lines]
    header = b"Subject: x\r\nFrom: y\r\n\r\n"
    message = header + b"".join(line + b"\r\n" for line in body_lines)
    sent = read_multiline(top(message, lines))
    assert sent == header + b"".join(line + b"\r\n" for line in body_lines[:lines])
