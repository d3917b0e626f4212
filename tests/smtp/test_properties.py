"""Hostile input for the SMTP grammar: whatever a client sends, the parser answers with
a command or a proper reply, the DATA decoder ends a message only at <CRLF>.<CRLF>, and
every reply is a well-formed SMTP reply."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.smtp import replies
from mailroom.smtp.commands import Bdat, Command, Mail, Rcpt, parse_command
from mailroom.smtp.data import DataDecoder, HeaderScanner
from mailroom.smtp.paths import parse_forward_path, parse_reverse_path
from mailroom.smtp.replies import SmtpError, SmtpReply
from mailroom.smtp.xtext import decode_xtext

FAST = settings(max_examples=400, deadline=None)


def encode_xtext(text: str) -> str:
    """The encoder of a client (RFC 3461 §4): Mailroom only decodes xtext, so the
    tests keep the other direction to check the decoder against."""
    return "".join(
        char if 33 <= ord(char) <= 126 and char not in "+=" else f"+{ord(char):02X}"
        for char in text
    )


def assert_valid_reply(reply: SmtpReply) -> None:
    for enhanced_codes in (True, False):
        for utf8 in (True, False):
            wire = reply.encode(enhanced_codes, utf8=utf8)
            assert wire.endswith(b"\r\n")
            lines = wire[:-2].split(b"\r\n")
            for index, line in enumerate(lines):
                assert len(line) + 2 <= replies.MAX_REPLY_LINE
                assert b"\r" not in line and b"\n" not in line
                assert 200 <= int(line[:3]) <= 599
                assert line[:3] == str(reply.code).encode()
                last = index == len(lines) - 1
                assert line[3:4] == (b" " if last else b"-") or (last and len(line) == 3)


def parse_or_refuse(line: bytes, max_length: int, smtputf8: bool, lmtp: bool) -> None:
    try:
        command = parse_command(line, max_length=max_length, smtputf8=smtputf8, lmtp=lmtp)
    except SmtpError as error:
        assert 500 <= error.reply.code <= 599
        assert_valid_reply(error.reply)
        return
    assert isinstance(command, Command)
    assert command.bare_lf == (not line.endswith(b"\r\n"))
    if isinstance(command, Mail | Rcpt):
        assert command.path.domain == command.path.domain.lower()
        assert command.path.domain.isascii()
    if isinstance(command, Rcpt):
        assert not command.path.is_null
    if isinstance(command, Bdat):
        assert 0 <= command.size <= 2**53


@FAST
@given(st.binary(max_size=600), st.integers(0, 700), st.booleans(), st.booleans())
def test_arbitrary_bytes_are_a_command_or_a_refusal(
    line: bytes, max_length: int, smtputf8: bool, lmtp: bool
) -> None:
    parse_or_refuse(line, max_length, smtputf8, lmtp)


VERBS = [
    "HELO",
    "EHLO",
    "LHLO",
    "MAIL",
    "RCPT",
    "DATA",
    "BDAT",
    "RSET",
    "NOOP",
    "QUIT",
    "VRFY",
    "EXPN",
    "HELP",
    "STARTTLS",
    "AUTH",
    "XYZZY",
    "",
]
PIECES = [
    " ",
    "  ",
    "FROM:",
    "from:",
    "TO:",
    "<",
    ">",
    "<>",
    '"',
    "\\",
    "@",
    "[",
    "]",
    "IPv6:",
    ":",
    ",",
    ";",
    "%",
    "!",
    ".",
    "..",
    "-",
    "=",
    "+",
    "+2B",
    "+zz",
    "a",
    "Z",
    "0",
    "9",
    "example.org",
    "xn--bcher-kva",
    "bücher",
    "ö",
    "\u2028",
    "\u0085",
    "ß",
    "ı",
    "K",
    "192.0.2.1",
    "2001:db8::1",
    "postmaster",
    "SIZE=",
    "BODY=",
    "8BITMIME",
    "BINARYMIME",
    "SMTPUTF8",
    "RET=",
    "FULL",
    "ENVID=",
    "AUTH=",
    "NOTIFY=",
    "NEVER",
    "SUCCESS,DELAY",
    "ORCPT=",
    "rfc822;",
    "LAST",
    "PLAIN",
    "=",
    "9007199254740993",
    "9" * 30,
    "1" * 4400,
    "\t",
    "\x00",
    "\x7f",
    "\r",
]
ENDINGS = [b"\r\n", b"\n", b"", b"\r", b"\r\r\n", b"\n\r\n"]


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    verb = draw(st.sampled_from(VERBS))
    verb = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in verb)
    pieces = draw(st.lists(st.sampled_from(PIECES), max_size=25))
    separator = draw(st.sampled_from([" ", "", "  "]))
    ending = draw(st.sampled_from(ENDINGS))
    return (verb + separator + "".join(pieces)).encode("utf-8") + ending


@FAST
@given(hostile_lines(), st.booleans(), st.booleans())
def test_hostile_command_lines_are_a_command_or_a_refusal(
    line: bytes, smtputf8: bool, lmtp: bool
) -> None:
    parse_or_refuse(line, 10_000, smtputf8, lmtp)


NUMBERS = st.one_of(
    st.integers(0, 2**60).map(str),
    st.sampled_from(["", "-1", "1.5", "0x10", "１２", "1" * 4400, "9" * 20, "00000000000000001"]),
)
PATHS = st.lists(
    st.sampled_from(
        [
            "<",
            ">",
            "a",
            "@",
            "example.org",
            '"',
            "\\",
            " ",
            ".",
            "[",
            "]",
            "IPv6:",
            "::1",
            "192.0.2.1",
            ",",
            ":",
            "ö",
            "bücher",
            "%",
            "!",
        ]
    ),
    max_size=12,
).map("".join)
VALUES = st.one_of(
    NUMBERS,
    st.sampled_from(
        [
            "7BIT",
            "8bitmime",
            "BINARYMIME",
            "FULL",
            "HDRS",
            "NEVER",
            "SUCCESS,DELAY",
            "NEVER,SUCCESS",
            "rfc822;a@b",
            "rfc822;",
            ";",
            "<>",
            "a+2Bb",
            "a+zz",
            "+",
            "=",
            "ö",
            "x" * 600,
        ]
    ),
)
KEYWORDS = st.sampled_from(
    [
        "SIZE",
        "BODY",
        "SMTPUTF8",
        "RET",
        "ENVID",
        "AUTH",
        "NOTIFY",
        "ORCPT",
        "XFOO",
        "-X",
        "",
        "size",
        "Ret",
    ]
)
PARAMETERS = st.lists(
    st.tuples(KEYWORDS, st.sampled_from(["=", "", "=="]), VALUES).map("".join), max_size=5
).map(" ".join)


@st.composite
def grammar_lines(draw: st.DrawFn) -> bytes:
    """Lines shaped like real commands, with hostile parts."""
    verb = draw(st.sampled_from(["MAIL", "RCPT", "BDAT", "AUTH", "EHLO", "VRFY"]))
    if verb in ("MAIL", "RCPT"):
        keyword = draw(st.sampled_from(["FROM:", "TO:", "from: ", "FROM"]))
        line = f"{verb} {keyword}{draw(PATHS)} {draw(PARAMETERS)}"
    elif verb == "BDAT":
        line = f"BDAT {draw(NUMBERS)}{draw(st.sampled_from(['', ' LAST', ' last', ' X']))}"
    elif verb == "AUTH":
        mechanism = draw(st.sampled_from(["PLAIN", "login", "", "X" * 21, "PL@IN"]))
        response = draw(st.sampled_from(["", " =", " AGFsaWNl", " a b", " *"]))
        line = f"AUTH {mechanism}{response}"
    else:
        line = f"{verb} {draw(PATHS)}"
    return line.encode("utf-8") + draw(st.sampled_from(ENDINGS))


@FAST
@given(grammar_lines(), st.booleans())
def test_command_shaped_hostile_lines_are_a_command_or_a_refusal(
    line: bytes, smtputf8: bool
) -> None:
    parse_or_refuse(line, 10_000, smtputf8, lmtp=False)


@FAST
@given(st.text(max_size=300), st.booleans())
def test_arbitrary_paths_parse_or_are_refused(text: str, smtputf8: bool) -> None:
    for parse in (parse_reverse_path, parse_forward_path):
        try:
            path = parse(text, smtputf8=smtputf8)
        except SmtpError as error:
            assert error.reply.code in (501, 553)
        else:
            assert len(path.local_part.encode()) <= 64 + 2
            assert path.domain.isascii()
            if not smtputf8:
                assert path.address.isascii()


ENHANCED_FOR = {2: "2.0.0", 4: "4.3.0", 5: "5.7.1"}


@FAST
@given(
    st.integers(200, 559).filter(lambda code: (code // 10) % 10 <= 5),
    st.booleans(),
    st.text(max_size=1500),
)
def test_every_reply_encodes_to_valid_smtp_lines(code: int, enhanced: bool, text: str) -> None:
    klass = code // 100
    status = ENHANCED_FOR.get(klass) if enhanced else None
    assert_valid_reply(SmtpReply(code, status, text))


def test_every_reply_constant_encodes_to_valid_smtp_lines() -> None:
    constants = [value for value in vars(replies).values() if isinstance(value, SmtpReply)]
    assert len(constants) > 30
    for reply in constants:
        assert_valid_reply(reply)


@FAST
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_xtext_round_trips(text: str) -> None:
    encoded = encode_xtext(text)
    assert all(33 <= ord(char) <= 126 and char != "=" for char in encoded)
    assert decode_xtext(encoded) == text


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_decodes_as_xtext_or_raises_value_error(text: str) -> None:
    try:
        decoded = decode_xtext(text)
    except ValueError:
        return
    assert decoded.isascii()
    assert encode_xtext(decoded) == re.sub(
        r"\+([0-9A-F]{2})",
        lambda match: (
            chr(int(match[1], 16))
            if 33 <= int(match[1], 16) <= 126 and chr(int(match[1], 16)) not in "+="
            else match[0]
        ),
        text,
    )


# --- DATA -------------------------------------------------------------------------

LINE_BODIES = st.lists(
    st.sampled_from([b".", b"..", b"\r", b"a", b" ", b"Received:", b"x.y"]), max_size=4
).map(b"".join)


@st.composite
def raw_lines(draw: st.DrawFn) -> list[bytes]:
    bodies = draw(st.lists(LINE_BODIES, max_size=30))
    endings = [draw(st.sampled_from([b"\r\n", b"\n", b"\r\n"])) for _ in bodies]
    lines = [body + ending for body, ending in zip(bodies, endings, strict=True)]
    unterminated = draw(st.booleans())
    if lines and unterminated:
        lines[-1] = lines[-1].rstrip(b"\n")  # cut off by the end of input
    return lines


def first_end(lines: list[bytes]) -> int | None:
    """Where RFC 5321 says the data ends: the first `.\\r\\n` after a CRLF line."""
    after_crlf = True
    for index, line in enumerate(lines):
        if line == b".\r\n" and after_crlf:
            return index
        after_crlf = line.endswith(b"\r\n")
    return None


@FAST
@given(raw_lines())
def test_the_data_ends_only_at_crlf_dot_crlf(lines: list[bytes]) -> None:
    decoder = DataDecoder(max_size=None, max_line_length=1000)
    ended = None
    for index, line in enumerate(lines):
        if decoder.feed(line) is None:
            ended = index
            break
    assert ended == first_end(lines)
    assert decoder.done == (ended is not None)


CONTENT_LINES = st.lists(
    st.lists(
        st.sampled_from([b".", b"a", b" ", b"\t", b"Received: x", b"\x00", b"\xff"]), max_size=5
    ).map(b"".join),
    max_size=30,
)


@FAST
@given(CONTENT_LINES, st.data())
def test_stuffed_content_sent_with_any_line_endings_comes_back_normalised(
    content: list[bytes], data: st.DataObject
) -> None:
    endings = [data.draw(st.sampled_from([b"\r\n", b"\n"])) for _ in content]
    if endings:
        endings[-1] = b"\r\n"  # the end of data needs a CRLF before the dot
    sent = [
        (b"." + line if line.startswith(b".") else line) + ending
        for line, ending in zip(content, endings, strict=True)
    ]
    decoder = DataDecoder(max_size=None, max_line_length=1000)
    stored = bytearray()
    for line in [*sent, b".\r\n"]:
        out = decoder.feed(line)
        if out is None:
            break
        stored += out
    assert decoder.done
    assert bytes(stored) == b"".join(line + b"\r\n" for line in content)
    # Re-stuffing what was stored gives what was sent, line endings normalised.
    restuffed = [
        b"." + line if line.startswith(b".") else line for line in bytes(stored).split(b"\r\n")[:-1]
    ]
    assert [line + b"\r\n" for line in restuffed] == [
        line.rstrip(b"\r\n") + b"\r\n" for line in sent
    ]
    assert decoder.bare_lf_count == endings.count(b"\n")


HEADER_PIECES = [
    b"Received",
    b"received",
    b"RECEIVED",
    b":",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"X-",
    b"a",
    b"Subject",
    b".",
    b"\x00",
    b"\xff",
    b"from x",
    b"Received: x\r\n",
    b"\n:",
    b"\r\n\r\n",
    b"\r\n ",
]


@FAST
@given(st.lists(st.sampled_from(HEADER_PIECES), max_size=60).map(b"".join), st.data())
def test_the_header_scanner_counts_the_same_however_the_bytes_are_cut(
    message: bytes, data: st.DataObject
) -> None:
    whole = HeaderScanner()
    whole.feed(message)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(message)), max_size=10)))
    chunked = HeaderScanner()
    start = 0
    for cut in [*cuts, len(message)]:
        chunked.feed(message[start:cut])
        start = cut
    assert chunked.received_headers == whole.received_headers
    assert chunked.in_headers == whole.in_headers


_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")


def reference_count(message: bytes) -> int:
    """Received: fields before the first empty or non-header line, line by line."""
    count = 0
    seen_field = False
    for line in message.split(b"\n")[:-1]:
        line = line.removesuffix(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if seen_field:
                continue
            break
        match = _FIELD.match(line)
        if not match:
            break
        seen_field = True
        count += match[1].lower() == b"received"
    return count


HEADER_LINES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                b"Received",
                b"received ",
                b"X-Received",
                b"Subject",
                b"",
                b" ",
                b"\t",
                b"From x",
                b"\xff",
            ]
        ),
        st.sampled_from([b":", b" :", b"\t:", b"", b"::"]),
        st.sampled_from([b" from a by b", b"", b"\r", b"\x00"]),
        st.sampled_from([b"\r\n", b"\n"]),
    ).map(b"".join),
    max_size=12,
).map(b"".join)


@FAST
@given(HEADER_LINES)
def test_the_header_scanner_agrees_with_a_line_by_line_reading(message: bytes) -> None:
    scanner = HeaderScanner()
    scanner.feed(message)
    assert scanner.received_headers == reference_count(message)
