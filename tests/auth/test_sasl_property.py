"""Hostile SASL clients: whatever bytes arrive, the exchange answers with a step, never an
exception; and what a well-behaved client encodes, the server decodes unchanged."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.auth.sasl import (
    MAX_FIELD_BYTES,
    Challenge,
    Credentials,
    SaslExchange,
    SaslFailure,
    plain_response,
)

mechanism_names = st.sampled_from(["PLAIN", "LOGIN", "plain", "login"])
raw_lines = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=120).map(base64.b64encode),  # valid base64 of arbitrary bytes
    st.sampled_from([b"*", b"=", b"", b"\r\n", b"*\r\n", b"==", b"A"]),
)
# A field a client may send: UTF-8 text without NUL, within the bound.
field_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=200,
).filter(lambda text: len(text.encode()) <= MAX_FIELD_BYTES)


@settings(max_examples=500, deadline=None)
@given(mechanism_names, st.one_of(st.none(), raw_lines), st.lists(raw_lines, max_size=4))
def test_arbitrary_client_lines_only_ever_produce_steps(
    mechanism: str, initial: bytes | None, lines: list[bytes]
) -> None:
    exchange = SaslExchange(mechanism)
    step = exchange.start(initial)
    for line in lines:
        assert isinstance(step, Challenge | Credentials | SaslFailure)
        if not isinstance(step, Challenge):
            break
        step = exchange.respond(line)
    assert isinstance(step, Challenge | Credentials | SaslFailure)
    assert exchange.finished == (not isinstance(step, Challenge))


@settings(max_examples=300, deadline=None)
@given(field_text, field_text.filter(bool), field_text.filter(bool))
def test_plain_round_trips_what_a_client_encodes(authzid: str, authcid: str, password: str) -> None:
    exchange = SaslExchange("PLAIN")
    assert exchange.start(plain_response(authcid, password, authzid=authzid)) == Credentials(
        authzid, authcid, password
    )


@settings(max_examples=300, deadline=None)
@given(field_text.filter(bool), field_text.filter(bool))
def test_login_round_trips_what_a_client_encodes(username: str, password: str) -> None:
    exchange = SaslExchange("LOGIN")
    assert exchange.start(None) == Challenge(b"Username:")
    assert exchange.respond(base64.b64encode(username.encode())) == Challenge(b"Password:")
    assert exchange.respond(base64.b64encode(password.encode())) == Credentials(
        "", username, password
    )
