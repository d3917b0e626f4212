"""The DATA transfer: where a message ends (only at <CRLF>.<CRLF>), what is stored,
and what is counted for the session to judge."""

from __future__ import annotations

import pytest

from mailroom.smtp.data import DataDecoder, HeaderScanner


def transfer(
    *lines: bytes, max_size: int | None = None, max_line_length: int = 1000
) -> tuple[bytes, DataDecoder, int]:
    """Feed the lines a client sent after `354`; return the stored content, the
    decoder, and how many lines were consumed when the data ended (0: it did not)."""
    decoder = DataDecoder(max_size=max_size, max_line_length=max_line_length)
    stored = bytearray()
    for count, line in enumerate(lines, start=1):
        content = decoder.feed(line)
        if content is None:
            return bytes(stored), decoder, count
        stored += content
    return bytes(stored), decoder, 0


# --- The end of the data ----------------------------------------------------------


def test_a_message_ends_at_a_dot_line_after_a_crlf_line() -> None:
    stored, decoder, ended_at = transfer(b"Subject: hi\r\n", b"\r\n", b"Hello.\r\n", b".\r\n")
    assert ended_at == 4
    assert decoder.done
    assert stored == b"Subject: hi\r\n\r\nHello.\r\n"


def test_an_empty_message_ends_at_the_first_line() -> None:
    stored, _, ended_at = transfer(b".\r\n")
    assert (stored, ended_at) == (b"", 1)


def test_the_brief_smuggling_sequence_ends_only_at_the_last_line() -> None:
    # <LF>.<LF> and <LF>.<CRLF> are content; only <CRLF>.<CRLF> ends the data.
    stored, _, ended_at = transfer(b"a\n", b".\n", b"b\r\n", b".\r\n")
    assert ended_at == 4
    assert stored == b"a\r\n.\r\nb\r\n"


@pytest.mark.parametrize(
    "smuggled",
    [
        [b"a\r\n", b".\n"],  # <CRLF>.<LF>
        [b"a\n", b".\r\n"],  # <LF>.<CRLF>
        [b"a\n", b".\n"],  # <LF>.<LF>
        [b"a\r\n", b".\r\r\n"],  # <CRLF>.<CR><CRLF>
        [b"a\r.\r\n"],  # <CR>.<CRLF>: one line with a bare CR
        [b"a\r\n", b" .\r\n"],
        [b"a\r\n", b". \r\n"],
        [b"a\r\n", b".."],  # at the end of input, unterminated
    ],
)
def test_a_dot_line_that_is_not_crlf_dot_crlf_is_content(smuggled: list[bytes]) -> None:
    lines = [*smuggled, b"MAIL FROM:<evil@example.org>\r\n", b"RCPT TO:<victim@example.org>\r\n"]
    _, decoder, ended_at = transfer(*lines)
    assert ended_at == 0
    assert not decoder.done


def test_a_smuggled_transaction_is_stored_as_part_of_the_message() -> None:
    stored, _, ended_at = transfer(
        b"Subject: x\r\n",
        b"\r\n",
        b"body\n",
        b".\r\n",
        b"MAIL FROM:<evil@example.org>\r\n",
        b"\r\n",
        b".\r\n",
    )
    assert ended_at == 7
    assert stored == b"Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<evil@example.org>\r\n\r\n"


def test_the_data_ends_after_a_crlf_line_that_follows_a_bare_lf_line() -> None:
    _, _, ended_at = transfer(b"a\n", b"b\r\n", b".\r\n")
    assert ended_at == 3


def test_feeding_after_the_end_is_a_programming_error() -> None:
    _, decoder, _ = transfer(b".\r\n")
    with pytest.raises(RuntimeError):
        decoder.feed(b"more\r\n")


def test_feeding_two_lines_at_once_is_a_programming_error() -> None:
    decoder = DataDecoder(max_size=None, max_line_length=1000)
    with pytest.raises(ValueError):
        decoder.feed(b"a\r\nb\r\n")


# --- What is stored ---------------------------------------------------------------


def test_a_leading_dot_is_removed() -> None:
    # RFC 5321 §4.5.2: the client doubled it.
    stored, _, _ = transfer(b"..\r\n", b"..hidden\r\n", b".x\r\n", b".\r\n")
    assert stored == b".\r\n.hidden\r\nx\r\n"


def test_dots_inside_a_line_are_kept() -> None:
    stored, _, _ = transfer(b"a.b..c\r\n", b".\r\n")
    assert stored == b"a.b..c\r\n"


def test_bare_lf_line_endings_are_stored_as_crlf_and_counted() -> None:
    stored, decoder, _ = transfer(b"one\n", b"two\n", b"three\r\n", b".\r\n")
    assert stored == b"one\r\ntwo\r\nthree\r\n"
    assert decoder.bare_lf_count == 2


def test_a_bare_cr_is_kept_and_counted() -> None:
    stored, decoder, _ = transfer(b"a\rb\r\n", b"c\r\r\n", b".\r\n")
    assert stored == b"a\rb\r\nc\r\r\n"
    assert decoder.bare_cr_count == 2


def test_a_clean_message_counts_no_bare_line_endings() -> None:
    _, decoder, _ = transfer(b"a\r\n", b".\r\n")
    assert (decoder.bare_lf_count, decoder.bare_cr_count) == (0, 0)


def test_an_unterminated_last_line_is_stored_without_an_ending() -> None:
    stored, decoder, ended_at = transfer(b"a\r\n", b"tail")
    assert (stored, ended_at, decoder.done) == (b"a\r\ntail", 0, False)


def test_the_size_counts_the_stored_octets() -> None:
    _, decoder, _ = transfer(b"..ab\n", b"c\r\n", b".\r\n")
    assert decoder.size == len(b".ab\r\nc\r\n")


# --- Limits -----------------------------------------------------------------------


def test_a_message_over_the_size_limit_is_read_to_its_end_but_not_stored() -> None:
    stored, decoder, ended_at = transfer(
        b"12345678\r\n", b"12345678\r\n", b"more\r\n", b".\r\n", max_size=15
    )
    assert ended_at == 4
    assert decoder.too_big
    assert decoder.refused
    assert stored == b"12345678\r\n"
    assert decoder.size == 26


def test_a_message_at_the_size_limit_is_stored() -> None:
    stored, decoder, _ = transfer(b"12345678\r\n", b".\r\n", max_size=10)
    assert not decoder.too_big
    assert stored == b"12345678\r\n"


def test_a_line_over_the_line_limit_refuses_the_message() -> None:
    stored, decoder, ended_at = transfer(
        b"ok\r\n", b"x" * 30 + b"\r\n", b"after\r\n", b".\r\n", max_line_length=20
    )
    assert ended_at == 4
    assert decoder.line_too_long
    assert stored == b"ok\r\n"


def test_a_line_at_the_line_limit_with_its_crlf_is_accepted() -> None:
    _, decoder, _ = transfer(b"x" * 18 + b"\r\n", b".\r\n", max_line_length=20)
    assert not decoder.line_too_long


def test_a_line_discarded_by_the_connection_refuses_the_message() -> None:
    decoder = DataDecoder(max_size=None, max_line_length=20)
    decoder.discard_overlong_line(ended_with_crlf=True)
    assert decoder.feed(b"after\r\n") == b""
    assert decoder.feed(b".\r\n") is None
    assert decoder.line_too_long


def test_after_a_discarded_line_of_unknown_ending_a_dot_line_does_not_end_the_data() -> None:
    decoder = DataDecoder(max_size=None, max_line_length=20)
    decoder.discard_overlong_line(ended_with_crlf=False)
    assert decoder.feed(b".\r\n") == b""
    assert decoder.feed(b"x\r\n") == b""
    assert decoder.feed(b".\r\n") is None


# --- Received: headers ------------------------------------------------------------


def test_received_headers_are_counted_in_any_case() -> None:
    _, decoder, _ = transfer(
        b"Received: from a by b\r\n",
        b"RECEIVED: from b by c\r\n",
        b"received : from c by d\r\n",
        b"Subject: x\r\n",
        b"\r\n",
        b".\r\n",
    )
    assert decoder.received_headers == 3


def test_a_folded_received_header_counts_once() -> None:
    _, decoder, _ = transfer(
        b"Received: from a\r\n", b"\tby b; Mon, 1 Jan 2026 00:00:00 +0000\r\n", b"\r\n", b".\r\n"
    )
    assert decoder.received_headers == 1


def test_received_lines_in_the_body_are_not_counted() -> None:
    _, decoder, _ = transfer(b"Received: from a\r\n", b"\r\n", b"Received: from b\r\n", b".\r\n")
    assert decoder.received_headers == 1


def test_the_header_section_ends_at_a_line_that_is_not_a_header() -> None:
    _, decoder, _ = transfer(
        b"Received: from a\r\n", b"no colon here\r\n", b"Received: from b\r\n", b".\r\n"
    )
    assert decoder.received_headers == 1


def test_a_dot_stuffed_received_header_is_counted() -> None:
    _, decoder, _ = transfer(b".Received: from a\r\n", b"\r\n", b".\r\n")
    assert decoder.received_headers == 1


def test_headers_named_like_received_are_not_counted() -> None:
    scanner = HeaderScanner()
    scanner.feed(b"X-Received: a\r\nReceived-SPF: pass\r\nReceivedx: b\r\n\r\n")
    assert scanner.received_headers == 0


def test_the_header_scanner_gives_the_same_count_byte_by_byte() -> None:
    message = b"Received: a\r\nReceived: b\r\n c\r\nreceived:d\nSubject: s\r\n\r\nReceived: e\r\n"
    whole = HeaderScanner()
    whole.feed(message)
    bytewise = HeaderScanner()
    for index in range(len(message)):
        bytewise.feed(message[index : index + 1])
    assert whole.received_headers == bytewise.received_headers == 3


def test_the_header_scanner_stops_at_the_blank_line() -> None:
    scanner = HeaderScanner()
    scanner.feed(b"Received: a\r\n\r\n")
    assert not scanner.in_headers
    scanner.feed(b"Received: b\r\n")
    assert scanner.received_headers == 1


def test_a_line_starting_with_a_colon_ends_the_header_section() -> None:
    scanner = HeaderScanner()
    scanner.feed(b"Received: a\r\n: no name\r\nReceived: b\r\n")
    assert scanner.received_headers == 1
    assert not scanner.in_headers


def test_a_continuation_line_first_is_not_a_header_section() -> None:
    scanner = HeaderScanner()
    scanner.feed(b" Received: a\r\nReceived: b\r\n")
    assert scanner.received_headers == 0
