"""Command lines as a client sends them, and what the grammar makes of them: a typed
command, or the reply (code and enhanced code) the session sends back."""

from __future__ import annotations

import pytest

from mailroom.smtp.commands import (
    AnyCommand,
    Auth,
    Bdat,
    Body,
    Data,
    Expn,
    Helo,
    Help,
    Mail,
    MailParams,
    Noop,
    Notify,
    OriginalRecipient,
    Quit,
    Rcpt,
    RcptParams,
    Ret,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
)
from mailroom.smtp.paths import NULL_PATH, Path
from mailroom.smtp.replies import SmtpError
from mailroom.smtp.xtext import decode_xtext

LIMIT = 10_000  # room for the 5000-digit numbers below


def client(line: str | bytes, *, smtputf8: bool = False, lmtp: bool = False) -> AnyCommand:
    """The command a client line (CRLF added to a str) parses into."""
    raw = line if isinstance(line, bytes) else line.encode() + b"\r\n"
    return parse_command(raw, max_length=LIMIT, smtputf8=smtputf8, lmtp=lmtp)


def server_refuses(line: str | bytes, *, smtputf8: bool = False, lmtp: bool = False) -> str:
    """`code enhanced` of the reply a refused client line gets."""
    with pytest.raises(SmtpError) as raised:
        client(line, smtputf8=smtputf8, lmtp=lmtp)
    return f"{raised.value.reply.code} {raised.value.reply.enhanced}"


def alice() -> Path:
    return Path("alice", "example.org")


# --- Accepted lines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("HELO client.example", Helo("client.example", extended=False)),
        ("EHLO client.example", Helo("client.example", extended=True)),
        ("ehlo [192.0.2.1]", Helo("[192.0.2.1]", extended=True)),
        ("HELO my  pc name", Helo("my pc name", extended=False)),
        ("MAIL FROM:<alice@example.org>", Mail(alice())),
        ("mail from:<alice@example.org>", Mail(alice())),
        ("MAIL FROM: <alice@example.org>", Mail(alice())),
        ("MAIL  FROM:<alice@example.org>  ", Mail(alice())),
        ("MAIL FROM:alice@example.org", Mail(alice())),
        ("MAIL FROM:<>", Mail(NULL_PATH)),
        ("RCPT TO:<alice@example.org>", Rcpt(alice())),
        ("Rcpt To: <alice@example.org>", Rcpt(alice())),
        ("RCPT TO:<postmaster>", Rcpt(Path("postmaster", ""))),
        ("DATA", Data()),
        ("data", Data()),
        ("BDAT 1000", Bdat(1000, last=False)),
        ("BDAT 0 LAST", Bdat(0, last=True)),
        ("bdat 12 last", Bdat(12, last=True)),
        ("RSET", Rset()),
        ("NOOP", Noop()),
        ("NOOP anything at all", Noop()),
        ("QUIT", Quit()),
        ("VRFY alice", Vrfy("alice")),
        ("EXPN staff", Expn("staff")),
        ("HELP", Help()),
        ("HELP MAIL", Help("MAIL")),
        ("STARTTLS", StartTls()),
        ("AUTH PLAIN", Auth("PLAIN")),
        ("auth login", Auth("LOGIN")),
        ("AUTH PLAIN AGFsaWNlAHNlY3JldA==", Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")),
        ("AUTH PLAIN =", Auth("PLAIN", "=")),
        ("AUTH SCRAM-SHA-256", Auth("SCRAM-SHA-256")),
    ],
)
def test_accepted_command_lines(line: str, command: AnyCommand) -> None:
    assert client(line) == command


# --- Refused lines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("XYZZY", "500 5.5.2"),
        ("", "500 5.5.2"),
        (" MAIL FROM:<alice@example.org>", "500 5.5.2"),
        ("MAILFROM:<alice@example.org>", "500 5.5.2"),
        ("ETRN example.org", "500 5.5.2"),
        ("LHLO client.example", "500 5.5.2"),
        ("HELO", "501 5.5.4"),
        ("EHLO   ", "501 5.5.4"),
        ("MAIL", "501 5.5.4"),
        ("MAIL TO:<alice@example.org>", "501 5.5.4"),
        ("MAIL FROM:", "501 5.5.4"),
        ("MAIL FROM:<alice@example.org>SIZE=10", "501 5.5.4"),
        ("MAIL FROM:<alice>", "501 5.1.7"),
        ("MAIL FROM:<alice@example.org", "501 5.1.7"),
        ("MAIL FROM:Alice <alice@example.org>", "501 5.1.7"),
        ("RCPT", "501 5.5.4"),
        ("RCPT FROM:<alice@example.org>", "501 5.5.4"),
        ("RCPT TO:", "501 5.5.4"),
        ("RCPT TO:<>", "501 5.1.3"),
        ("RCPT TO:<alice>", "501 5.1.3"),
        ("RCPT TO:<jöran@example.org>", "553 5.6.7"),
        ("MAIL FROM:<jöran@example.org>", "553 5.6.7"),
        ("DATA now", "501 5.5.4"),
        ("RSET all", "501 5.5.4"),
        ("STARTTLS please", "501 5.5.4"),
        ("VRFY", "501 5.5.4"),
        ("EXPN", "501 5.5.4"),
        ("BDAT", "501 5.5.4"),
        ("BDAT x", "501 5.5.4"),
        ("BDAT -1", "501 5.5.4"),
        ("BDAT 10 FIRST", "501 5.5.4"),
        ("BDAT 10 LAST more", "501 5.5.4"),
        ("BDAT ١٢", "501 5.5.4"),
        (f"BDAT {2**53 + 1}", "501 5.5.4"),
        (f"BDAT {'9' * 5000}", "501 5.5.4"),
        ("AUTH", "501 5.5.4"),
        ("AUTH PL@IN", "501 5.5.4"),
        ("AUTH A23456789012345678901", "501 5.5.4"),
        ("AUTH PLAIN abc def", "501 5.5.4"),
        ("AUTH PLAIN not*base64", "501 5.5.2"),
    ],
)
def test_refused_command_lines_get_their_reply(line: str, reply: str) -> None:
    assert server_refuses(line) == reply


def test_a_huge_bdat_size_is_bounded() -> None:
    assert client(f"BDAT {2**53}") == Bdat(2**53, last=False)


# --- Line endings and bytes -------------------------------------------------------


def test_a_crlf_line_is_not_marked_bare_lf() -> None:
    assert client(b"NOOP\r\n").bare_lf is False


def test_a_bare_lf_line_is_accepted_and_marked() -> None:
    command = client(b"RCPT TO:<alice@example.org>\n")
    assert command == Rcpt(alice())
    assert command.bare_lf is True


def test_a_line_without_an_ending_is_refused() -> None:
    assert server_refuses(b"QUIT") == "500 5.5.2"


def test_a_nul_byte_is_refused() -> None:
    assert server_refuses(b"MAIL FROM:<alice\x00@example.org>\r\n") == "500 5.5.2"


@pytest.mark.parametrize(
    "line", [b"NOOP\r\r\n", b"MAIL FROM:<a@b.example>\rRSET\r\n", b"EHLO\tx\r\n"]
)
def test_control_characters_are_refused(line: bytes) -> None:
    assert server_refuses(line) == "500 5.5.2"


@pytest.mark.parametrize("separator", ["\u0085", "\u2028", "\u2029", "\u009b"])
def test_unicode_line_breaks_and_c1_controls_are_refused(separator: str) -> None:
    assert server_refuses(f"EHLO a{separator}b") == "500 5.5.2"


def test_parameters_are_separated_by_spaces_only() -> None:
    assert server_refuses("MAIL FROM:<alice@example.org> SIZE=1\u00a0SMTPUTF8") == "501 5.5.4"


def test_invalid_utf8_is_refused() -> None:
    assert server_refuses(b"MAIL FROM:<j\xf6ran@example.org>\r\n") == "500 5.5.2"


def test_a_line_longer_than_the_limit_is_refused_with_500_5_5_6() -> None:
    line = b"NOOP " + b"x" * 600 + b"\r\n"
    with pytest.raises(SmtpError) as raised:
        parse_command(line, max_length=512)
    assert (raised.value.reply.code, raised.value.reply.enhanced) == (500, "5.5.6")


def test_a_line_exactly_at_the_limit_is_accepted() -> None:
    line = b"NOOP " + b"x" * 505 + b"\r\n"
    assert len(line) == 512
    assert parse_command(line, max_length=512) == Noop()


# --- MAIL parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "params"),
    [
        ("SIZE=0", MailParams(size=0)),
        ("SIZE=52428800", MailParams(size=52428800)),
        ("size=100", MailParams(size=100)),
        ("BODY=7BIT", MailParams(body=Body.SEVEN_BIT)),
        ("BODY=8bitmime", MailParams(body=Body.EIGHT_BIT_MIME)),
        ("BODY=BINARYMIME", MailParams(body=Body.BINARY_MIME)),
        ("SMTPUTF8", MailParams(smtputf8=True)),
        ("RET=FULL", MailParams(ret=Ret.FULL)),
        ("ret=hdrs", MailParams(ret=Ret.HDRS)),
        ("ENVID=QQ314159", MailParams(envid="QQ314159")),
        ("ENVID=a+2Bb+3Dc", MailParams(envid="a+b=c")),
        ("AUTH=<>", MailParams(auth="")),
        ("AUTH=bob+2Bx@example.org", MailParams(auth="bob+x@example.org")),
        (
            "SIZE=100  BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x1",
            MailParams(100, Body.EIGHT_BIT_MIME, True, Ret.HDRS, "x1"),
        ),
    ],
)
def test_mail_parameters(parameters: str, params: MailParams) -> None:
    command = client(f"MAIL FROM:<alice@example.org> {parameters}")
    assert isinstance(command, Mail)
    assert command.params == params


@pytest.mark.parametrize(
    ("parameters", "reply"),
    [
        ("XFOO", "555 5.5.4"),
        ("XFOO=1", "555 5.5.4"),
        ("NOTIFY=NEVER", "555 5.5.4"),
        ("SIZE=1 SIZE=2", "501 5.5.4"),
        ("SMTPUTF8 smtputf8", "501 5.5.4"),
        ("SIZE", "501 5.5.4"),
        ("SIZE=", "501 5.5.4"),
        ("SIZE=ten", "501 5.5.4"),
        ("SIZE=-1", "501 5.5.4"),
        ("SIZE=1.5", "501 5.5.4"),
        ("SIZE=１０", "501 5.5.4"),
        (f"SIZE={2**53 + 1}", "501 5.5.4"),
        (f"SIZE={'9' * 5000}", "501 5.5.4"),
        ("BODY=9BIT", "501 5.5.4"),
        ("BODY=8bıtmıme", "501 5.5.4"),
        ("BODY", "501 5.5.4"),
        ("SMTPUTF8=yes", "501 5.5.4"),
        ("RET=ALL", "501 5.5.4"),
        ("ENVID=a+2bb", "501 5.5.4"),
        ("ENVID=a+0Db", "501 5.5.4"),
        (f"ENVID={'x' * 101}", "501 5.5.4"),
        ("AUTH=", "501 5.5.4"),
        ("AUTH=a+zz", "501 5.5.4"),
        ("=1", "501 5.5.4"),
        ("-X=1", "501 5.5.4"),
        ("X_Y=1", "501 5.5.4"),
        ("SIZE==1", "501 5.5.4"),
    ],
)
def test_refused_mail_parameters(parameters: str, reply: str) -> None:
    assert server_refuses(f"MAIL FROM:<alice@example.org> {parameters}") == reply


def test_smtputf8_on_mail_allows_a_utf8_sender() -> None:
    command = client("MAIL FROM:<jöran@bücher.example> SMTPUTF8")
    assert isinstance(command, Mail)
    assert command.path == Path("jöran", "xn--bcher-kva.example")


def test_an_unknown_parameter_is_named_in_the_reply() -> None:
    with pytest.raises(SmtpError) as raised:
        client("MAIL FROM:<alice@example.org> XFOO=1")
    assert raised.value.reply.text == "Unsupported option: XFOO"


# --- RCPT parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "params"),
    [
        ("NOTIFY=NEVER", RcptParams(notify=frozenset({Notify.NEVER}))),
        ("NOTIFY=SUCCESS", RcptParams(notify=frozenset({Notify.SUCCESS}))),
        (
            "notify=failure,delay",
            RcptParams(notify=frozenset({Notify.FAILURE, Notify.DELAY})),
        ),
        (
            "NOTIFY=SUCCESS,FAILURE,DELAY",
            RcptParams(notify=frozenset({Notify.SUCCESS, Notify.FAILURE, Notify.DELAY})),
        ),
        (
            "ORCPT=rfc822;alice@example.org",
            RcptParams(orcpt=OriginalRecipient("rfc822", "alice@example.org")),
        ),
        (
            "ORCPT=RFC822;a+2Bb+20c@example.org",
            RcptParams(orcpt=OriginalRecipient("RFC822", "a+b c@example.org")),
        ),
        (
            "NOTIFY=DELAY ORCPT=rfc822;alice@example.org",
            RcptParams(frozenset({Notify.DELAY}), OriginalRecipient("rfc822", "alice@example.org")),
        ),
    ],
)
def test_rcpt_parameters(parameters: str, params: RcptParams) -> None:
    command = client(f"RCPT TO:<alice@example.org> {parameters}")
    assert isinstance(command, Rcpt)
    assert command.params == params


@pytest.mark.parametrize(
    ("parameters", "reply"),
    [
        ("SIZE=10", "555 5.5.4"),
        ("XFOO", "555 5.5.4"),
        ("NOTIFY", "501 5.5.4"),
        ("NOTIFY=", "501 5.5.4"),
        ("NOTIFY=NEVER,SUCCESS", "501 5.5.4"),
        ("NOTIFY=SUCCESS,,DELAY", "501 5.5.4"),
        ("NOTIFY=SOMETIMES", "501 5.5.4"),
        ("NOTIFY=SUCCESS NOTIFY=DELAY", "501 5.5.4"),
        ("ORCPT=alice@example.org", "501 5.5.4"),
        ("ORCPT=;alice@example.org", "501 5.5.4"),
        ("ORCPT=rfc822;", "501 5.5.4"),
        ("ORCPT=rfc822;a+zz", "501 5.5.4"),
        ("ORCPT=rfc(822);alice@example.org", "501 5.5.4"),
        (f"ORCPT=rfc822;{'a' * 500}", "501 5.5.4"),
    ],
)
def test_refused_rcpt_parameters(parameters: str, reply: str) -> None:
    assert server_refuses(f"RCPT TO:<alice@example.org> {parameters}") == reply


def test_a_utf8_recipient_is_accepted_when_the_transaction_has_smtputf8() -> None:
    command = client("RCPT TO:<jöran@example.org>", smtputf8=True)
    assert isinstance(command, Rcpt)
    assert command.path.local_part == "jöran"


def test_a_utf8_recipient_is_refused_when_the_transaction_has_no_smtputf8() -> None:
    assert server_refuses("RCPT TO:<jöran@example.org>") == "553 5.6.7"


# --- AUTH, LMTP -------------------------------------------------------------------


def test_an_auth_initial_response_stays_out_of_the_repr() -> None:
    command = client("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
    assert "AGFsaWNl" not in repr(command)


def test_lmtp_takes_lhlo() -> None:
    assert client("LHLO client.example", lmtp=True) == Helo("client.example", extended=True)


@pytest.mark.parametrize("line", ["HELO client.example", "EHLO client.example"])
def test_lmtp_refuses_helo_and_ehlo(line: str) -> None:
    # RFC 2033 §4.1: an LMTP server takes LHLO, not HELO or EHLO.
    assert server_refuses(line, lmtp=True) == "500 5.5.2"


# --- xtext (RFC 3461 §4) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("", ""),
        ("plain", "plain"),
        ("a+2Bb", "a+b"),
        ("a+3Db", "a=b"),
        ("a+20b", "a b"),
        ("+41", "A"),
        ("~!", "~!"),
    ],
)
def test_xtext_decodes(encoded: str, decoded: str) -> None:
    assert decode_xtext(encoded) == decoded


@pytest.mark.parametrize(
    "encoded", ["a+2bb", "a+2", "a+", "+G0", "a=b", "a b", "a\tb", "é", "+80", "+FF", "a+ 1"]
)
def test_malformed_xtext_is_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        decode_xtext(encoded)
