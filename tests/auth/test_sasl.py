"""SASL PLAIN and LOGIN, as a server sees them: the client's base64 lines in, challenges,
credentials or a failure out."""

from __future__ import annotations

import base64

import pytest

from mailroom.auth.sasl import (
    MAX_FIELD_BYTES,
    MAX_LINE_LENGTH,
    Challenge,
    Credentials,
    SaslExchange,
    SaslFailure,
    SaslStateError,
    UnknownMechanism,
    mechanisms,
    plain_response,
)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


# PLAIN (RFC 4616)


def test_plain_with_initial_response_gives_credentials_at_once() -> None:
    exchange = SaslExchange("PLAIN")
    assert exchange.start(b64(b"\x00alice@example.org\x00correct horse")) == Credentials(
        authzid="", authcid="alice@example.org", password="correct horse"
    )
    assert exchange.finished


def test_plain_without_initial_response_sends_an_empty_challenge_first() -> None:
    exchange = SaslExchange("plain")
    assert exchange.start(None) == Challenge(b"")
    assert exchange.respond(b64(b"\x00alice\x00pw") + b"\r\n") == Credentials("", "alice", "pw")


def test_plain_carries_the_authzid_a_master_user_acts_as() -> None:
    result = SaslExchange("PLAIN").start(b64(b"alice@example.org\x00webmail\x00master secret"))
    assert result == Credentials("alice@example.org", "webmail", "master secret")


def test_plain_decodes_utf8() -> None:
    result = SaslExchange("PLAIN").start(b64("\x00josé@example.org\x00pässwörd".encode()))
    assert result == Credentials("", "josé@example.org", "pässwörd")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"alice\x00pw", "two NULs"),
        (b"\x00alice\x00pw\x00", "two NULs"),
        (b"", "two NULs"),
        (b"\x00\x00pw", "authcid is empty"),
        (b"\x00alice\x00", "password is empty"),
        (b"\x00alice\x00\xff\xfe", "password is not UTF-8"),
        (b"\xc0\x80\x00alice\x00pw", "authzid is not UTF-8"),
        (b"\x00" + b"a" * (MAX_FIELD_BYTES + 1) + b"\x00pw", "authcid is longer than 1024"),
    ],
)
def test_plain_refuses_malformed_messages(message: bytes, reason: str) -> None:
    result = SaslExchange("PLAIN").start(b64(message))
    assert isinstance(result, SaslFailure)
    assert reason in result.reason


def test_plain_failure_never_quotes_the_password() -> None:
    result = SaslExchange("PLAIN").start(b64(b"\x00alice\x00hunter2\xff"))
    assert isinstance(result, SaslFailure)
    assert "hunter2" not in result.reason


def test_an_empty_initial_response_is_a_present_but_empty_message() -> None:
    result = SaslExchange("PLAIN").start(b"=")
    assert isinstance(result, SaslFailure)
    assert "two NULs" in result.reason


# LOGIN (draft-murchison-sasl-login)


def test_login_asks_for_username_then_password() -> None:
    exchange = SaslExchange("LOGIN")
    assert exchange.start(None) == Challenge(b"Username:")
    assert exchange.respond(b64(b"alice@example.org")) == Challenge(b"Password:")
    assert not exchange.finished
    assert exchange.respond(b64(b"correct horse")) == Credentials(
        "", "alice@example.org", "correct horse"
    )


def test_login_takes_the_username_as_initial_response_as_most_servers_do() -> None:
    exchange = SaslExchange("LOGIN")
    assert exchange.start(b64(b"alice")) == Challenge(b"Password:")
    assert exchange.respond(b64(b"pw")) == Credentials("", "alice", "pw")


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        (b"", b"pw", "username is empty"),
        (b"alice", b"", "password is empty"),
        (b"ali\x00ce", b"pw", "username contains NUL"),
        (b"alice", b"p\x00w", "password contains NUL"),
        (b"alice", b"\xff", "password is not UTF-8"),
    ],
)
def test_login_refuses_empty_nul_and_non_utf8_fields(
    username: bytes, password: bytes, reason: str
) -> None:
    exchange = SaslExchange("LOGIN")
    exchange.start(None)
    result = exchange.respond(b64(username))
    if isinstance(result, Challenge):
        result = exchange.respond(b64(password))
    assert isinstance(result, SaslFailure)
    assert result.reason == f"the {reason}" or reason in result.reason


# What every mechanism shares


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_star_cancels_the_exchange(mechanism: str) -> None:
    exchange = SaslExchange(mechanism)
    exchange.start(None)
    result = exchange.respond(b"*\r\n")
    assert result == SaslFailure("the client cancelled the exchange", cancelled=True)
    assert exchange.finished


def test_a_well_formed_line_is_accepted_with_or_without_its_line_end() -> None:
    for line in (b"AGFsaWNlAHB3ZA==", b"AGFsaWNlAHB3ZA==\r\n", b"AGFsaWNlAHB3ZA==\n"):
        exchange = SaslExchange("PLAIN")
        exchange.start(None)
        assert exchange.respond(line) == Credentials("", "alice", "pwd")


@pytest.mark.parametrize(
    "line",
    [
        b"AGFsaWNlAHB3ZA",  # missing padding
        b"AGFsaWNlAHB3ZA=",  # short padding
        b"AGFsaWNlAHB3ZA===",  # excess padding
        b"AGFsaWNl AHB3ZA==",  # space inside
        b"AGFsaWNlAHB3ZA==AA==",  # data after padding
        b"=AGFsaWNlAHB3ZA==",  # leading padding
        "AGFsaWNlAHB3ZA€".encode(),  # not even ASCII
        b"AGFsaWNlAHB3ZA==\r\n\r\n",  # two line ends
    ],
)
def test_only_strict_base64_is_accepted(line: bytes) -> None:
    exchange = SaslExchange("PLAIN")
    exchange.start(None)
    assert exchange.respond(line) == SaslFailure("the client's line is not base64")


def test_a_line_longer_than_the_bound_is_refused_before_decoding() -> None:
    exchange = SaslExchange("PLAIN")
    exchange.start(None)
    result = exchange.respond(b"A" * (MAX_LINE_LENGTH + 4))
    assert isinstance(result, SaslFailure)
    assert "longer than" in result.reason


def test_the_longest_fields_fit_in_the_longest_line() -> None:
    field = "é" * (MAX_FIELD_BYTES // 2)
    line = plain_response(field, field, authzid=field)
    assert len(line) <= MAX_LINE_LENGTH
    assert SaslExchange("PLAIN").start(line) == Credentials(field, field, field)


def test_the_exchange_refuses_to_go_on_after_its_end() -> None:
    exchange = SaslExchange("PLAIN")
    exchange.start(plain_response("alice", "pw"))
    with pytest.raises(SaslStateError):
        exchange.respond(b"")
    with pytest.raises(SaslStateError):
        exchange.start(None)


def test_respond_before_start_is_a_bug_of_the_caller() -> None:
    with pytest.raises(SaslStateError):
        SaslExchange("LOGIN").respond(b64(b"alice"))


def test_an_unknown_mechanism_is_refused_naming_the_ones_offered() -> None:
    with pytest.raises(UnknownMechanism, match="this server offers PLAIN, LOGIN"):
        SaslExchange("CRAM-MD5")


def test_plaintext_mechanisms_are_offered_only_on_secure_connections() -> None:
    assert mechanisms(secure=True) == ["PLAIN", "LOGIN"]
    assert mechanisms(secure=False) == []


def test_credentials_do_not_show_the_password_in_their_repr() -> None:
    assert "hunter2" not in repr(Credentials("", "alice", "hunter2"))
