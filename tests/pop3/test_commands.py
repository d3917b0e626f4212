"""The POP3 command reader: what a client sends, and the command (or the -ERR text) the
server takes from it. Lines are given as the session hands them over, without CRLF."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.pop3.commands import (
    MAX_COMMAND_LINE,
    MAX_NUMBER,
    Apop,
    Auth,
    Capa,
    Command,
    CommandError,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    parse_command,
)

FAST = settings(max_examples=500, deadline=None)
KEYWORDS = [
    "USER",
    "PASS",
    "APOP",
    "AUTH",
    "STAT",
    "LIST",
    "RETR",
    "DELE",
    "NOOP",
    "RSET",
    "QUIT",
    "TOP",
    "UIDL",
    "CAPA",
    "STLS",
]


def refused(line: bytes) -> str:
    """The text the server answers after `-ERR ` for `line`."""
    with pytest.raises(CommandError) as caught:
        parse_command(line)
    return caught.value.message


# --- Commands without arguments ----------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"STAT", Stat()),
        (b"NOOP", Noop()),
        (b"RSET", Rset()),
        (b"QUIT", Quit()),
        (b"CAPA", Capa()),
        (b"STLS", Stls()),
    ],
)
def test_commands_without_arguments_are_read(line: bytes, command: Command) -> None:
    assert parse_command(line) == command


def test_keywords_are_case_insensitive() -> None:
    assert parse_command(b"stat") == Stat()
    assert parse_command(b"rEtR 3") == Retr(3)


def test_each_command_knows_its_keyword_in_upper_case() -> None:
    assert parse_command(b"quit").name == "QUIT"
    assert parse_command(b"top 1 0").name == "TOP"


def test_trailing_spaces_after_a_command_are_ignored() -> None:
    assert parse_command(b"STAT  ") == Stat()


def test_an_argument_to_a_command_that_takes_none_is_refused_naming_it() -> None:
    assert refused(b"NOOP now") == "NOOP takes no arguments."


# --- Unknown and malformed keywords ------------------------------------------------


def test_an_unknown_keyword_is_refused_naming_it() -> None:
    assert refused(b"XTND XMIT") == "Unknown command: XTND."


def test_an_empty_line_is_an_unknown_command() -> None:
    assert refused(b"") == "Unknown command."


def test_a_leading_space_is_not_tolerated() -> None:
    assert refused(b" STAT") == "Unknown command."


@pytest.mark.parametrize("line", [b"ST", b"STATS", b"ST4T", b"S\xc3\xa4T", b"STAT\t", b"\x00"])
def test_a_keyword_that_is_not_three_or_four_ascii_letters_is_refused(line: bytes) -> None:
    assert refused(line) == "Unknown command."


def test_a_tab_does_not_separate_keyword_from_argument() -> None:
    assert refused(b"RETR\t1") == "Unknown command."


# --- USER, PASS, APOP --------------------------------------------------------------


def test_user_gives_the_user_name() -> None:
    assert parse_command(b"USER alice@example.org") == User("alice@example.org")


def test_user_name_may_be_utf8() -> None:
    assert parse_command("USER jörg@example.org".encode()) == User("jörg@example.org")


def test_user_name_that_is_not_utf8_is_refused() -> None:
    assert refused(b"USER j\xf6rg") == "User name is not UTF-8."


def test_user_with_two_words_is_refused() -> None:
    assert refused(b"USER alice smith") == "Syntax: USER name."


def test_user_without_a_name_is_refused() -> None:
    assert refused(b"USER") == "Syntax: USER name."
    assert refused(b"USER ") == "Syntax: USER name."


def test_user_name_with_a_control_character_is_refused() -> None:
    assert refused(b"USER ali\x00ce") == "Invalid characters in user name."


def test_several_spaces_before_an_argument_are_tolerated() -> None:
    assert parse_command(b"USER   alice") == User("alice")


def test_pass_takes_the_rest_of_the_line_spaces_and_all() -> None:
    assert parse_command(b"PASS  correct horse battery ") == Pass(" correct horse battery ")


def test_pass_may_be_utf8() -> None:
    assert parse_command("PASS pässwörd".encode()) == Pass("pässwörd")


def test_pass_that_is_not_utf8_is_refused() -> None:
    assert refused(b"PASS p\xe4ss") == "Password is not UTF-8."


def test_pass_without_a_password_is_refused() -> None:
    assert refused(b"PASS") == "Syntax: PASS password."
    assert refused(b"PASS ") == "Syntax: PASS password."


def test_pass_with_nul_is_refused_without_echoing_it() -> None:
    assert refused(b"PASS sec\x00ret") == "Invalid characters in password."


def test_the_password_is_kept_out_of_repr() -> None:
    assert "hunter2" not in repr(parse_command(b"PASS hunter2"))


def test_apop_gives_name_and_digest() -> None:
    line = b"APOP mrose c4c9334bac560ecc979e58001b3e22fb"
    assert parse_command(line) == Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb")


@pytest.mark.parametrize(
    "digest",
    [b"C4C9334BAC560ECC979E58001B3E22FB", b"c4c9334bac560ecc979e58001b3e22f", b"x" * 32],
)
def test_apop_digest_must_be_32_lower_case_hex_digits(digest: bytes) -> None:
    assert refused(b"APOP mrose " + digest).startswith("Invalid APOP digest")


def test_apop_without_a_digest_is_refused() -> None:
    assert refused(b"APOP mrose") == "Syntax: APOP name digest."


# --- AUTH --------------------------------------------------------------------------


def test_auth_alone_asks_for_the_mechanisms() -> None:
    assert parse_command(b"AUTH") == Auth()


def test_auth_mechanism_is_upper_cased() -> None:
    assert parse_command(b"auth plain") == Auth("PLAIN")


def test_auth_keeps_the_initial_response_as_sent() -> None:
    response = base64.b64encode(b"\x00alice\x00secret")
    assert parse_command(b"AUTH PLAIN " + response) == Auth("PLAIN", response)


def test_auth_with_an_empty_initial_response() -> None:
    assert parse_command(b"AUTH PLAIN =") == Auth("PLAIN", b"=")


@pytest.mark.parametrize("response", [b"AGFsaWNl*", b"AGFsaWN", b"==", b"AGFs=aWNl"])
def test_auth_with_an_initial_response_that_is_not_base64_is_refused(response: bytes) -> None:
    assert refused(b"AUTH PLAIN " + response) == "Invalid base64 in initial response."


def test_auth_with_an_invalid_mechanism_name_is_refused() -> None:
    assert refused(b"AUTH PL@IN") == "Invalid SASL mechanism name."
    assert refused(b"AUTH " + b"A" * 21) == "Invalid SASL mechanism name."


def test_auth_with_three_words_is_refused() -> None:
    assert refused(b"AUTH PLAIN = more") == "Syntax: AUTH [mechanism [initial-response]]."


def test_the_initial_response_is_kept_out_of_repr() -> None:
    assert "AGFs" not in repr(parse_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA=="))


# --- Message numbers ---------------------------------------------------------------


def test_list_without_a_number_lists_every_message() -> None:
    assert parse_command(b"LIST") == List()


def test_list_with_a_number() -> None:
    assert parse_command(b"LIST 2") == List(2)


def test_uidl_with_and_without_a_number() -> None:
    assert parse_command(b"UIDL") == Uidl()
    assert parse_command(b"UIDL 7") == Uidl(7)


def test_retr_and_dele_take_a_message_number() -> None:
    assert parse_command(b"RETR 1") == Retr(1)
    assert parse_command(b"DELE 42") == Dele(42)


def test_retr_without_a_number_is_refused_naming_the_command() -> None:
    assert refused(b"RETR") == "Syntax: RETR msg."


def test_list_with_two_numbers_is_refused() -> None:
    assert refused(b"LIST 1 2") == "Syntax: LIST [msg]."


def test_top_takes_a_message_number_and_a_line_count() -> None:
    assert parse_command(b"TOP 1 10") == Top(1, 10)


def test_top_may_ask_for_no_body_lines() -> None:
    assert parse_command(b"TOP 3 0") == Top(3, 0)


def test_top_without_a_line_count_is_refused() -> None:
    assert refused(b"TOP 1") == "Syntax: TOP msg n."


def test_message_number_zero_is_refused() -> None:
    assert refused(b"RETR 0") == "Invalid message number."
    assert refused(b"DELE 000") == "Invalid message number."


def test_leading_zeros_are_accepted() -> None:
    assert parse_command(b"RETR 007") == Retr(7)


def test_the_largest_message_number_is_two_to_the_31_minus_one() -> None:
    assert parse_command(b"RETR 2147483647") == Retr(MAX_NUMBER)
    assert refused(b"RETR 2147483648") == "Invalid message number."


def test_a_line_count_too_large_is_refused() -> None:
    assert refused(b"TOP 1 2147483648") == "Invalid line count."


@pytest.mark.parametrize(
    "number",
    [b"-1", b"+1", b"1.0", b"0x10", b"1e3", b"\xd9\xa3", b"\xef\xbc\x91", b"1_000", b"one"],
)
def test_a_message_number_that_is_not_plain_ascii_digits_is_refused(number: bytes) -> None:
    assert refused(b"RETR " + number) == "Invalid message number."


def test_a_line_count_that_is_negative_is_refused() -> None:
    assert refused(b"TOP 1 -1") == "Invalid line count."


# --- Line length -------------------------------------------------------------------


def test_a_command_line_of_255_octets_with_crlf_is_accepted() -> None:
    line = b"USER " + b"a" * (MAX_COMMAND_LINE - 2 - 5)
    assert len(line) + 2 == MAX_COMMAND_LINE
    assert parse_command(line) == User("a" * (MAX_COMMAND_LINE - 7))


def test_a_command_line_longer_than_255_octets_is_refused() -> None:
    line = b"USER " + b"a" * (MAX_COMMAND_LINE - 2 - 4)
    assert refused(line) == "Command line too long (at most 255 octets)."


def test_a_very_long_line_of_digits_is_refused_for_its_length() -> None:
    assert refused(b"RETR " + b"9" * 100_000) == "Command line too long (at most 255 octets)."


# --- Hostile input -----------------------------------------------------------------


def check_error(error: CommandError) -> None:
    """An -ERR text the session can send as it is: short printable ASCII, one line."""
    assert error.message
    assert error.message.isascii() and error.message.isprintable()
    assert len(error.message) < 100


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_command_or_a_command_error(line: bytes) -> None:
    try:
        command = parse_command(line)
    except CommandError as error:
        check_error(error)
    else:
        assert len(line) <= MAX_COMMAND_LINE - 2
        assert command.name == line.split(b" ")[0].decode("ascii").upper()


@FAST
@given(
    st.sampled_from(KEYWORDS),
    st.lists(
        st.one_of(
            st.binary(max_size=30),
            st.integers().map(lambda n: str(n).encode()),
            st.text(alphabet=st.characters(categories=["Nd"]), max_size=12).map(str.encode),
            st.just(b"0" * 300),
            st.sampled_from([b"", b" ", b"=", b"*", b"\x00", b"\r", b"\n", b"\xff"]),
        ),
        max_size=4,
    ),
)
def test_known_keywords_with_hostile_arguments_never_raise_anything_else(
    keyword: str, arguments: list[bytes]
) -> None:
    line = b" ".join([keyword.encode(), *arguments])
    try:
        command = parse_command(line)
    except CommandError as error:
        check_error(error)
        return
    assert command.name == keyword
    for value in vars(command).values():
        if isinstance(value, int):
            assert 0 <= value <= MAX_NUMBER


@FAST
@given(st.integers(min_value=-(2**70), max_value=2**70), st.booleans())
def test_message_numbers_are_read_only_in_range(number: int, padded: bool) -> None:
    text = str(number).encode()
    if padded and number >= 0:
        text = b"000" + text
    try:
        command = parse_command(b"RETR " + text)
    except CommandError as error:
        assert error.message == "Invalid message number."
        assert not 1 <= number <= MAX_NUMBER
    else:
        assert command == Retr(number)
