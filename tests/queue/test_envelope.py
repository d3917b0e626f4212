"""The envelope file: what to_json writes, from_json reads back exactly; anything else
is refused with EnvelopeError, never half-read."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.queue import (
    ClientInfo,
    Envelope,
    EnvelopeError,
    EnvelopeRecipient,
    MailParams,
    RecipientState,
)
from tests.support.queue_messages import envelope

times = st.floats(min_value=0, max_value=1e11, allow_nan=False, allow_infinity=False)
optional_text = st.none() | st.text(max_size=20)

recipients = st.builds(
    EnvelopeRecipient,
    address=st.text(max_size=30),
    original=st.text(max_size=30),
    notify=st.none() | st.frozensets(st.sampled_from(["SUCCESS", "FAILURE", "DELAY", "NEVER"])),
    state=st.sampled_from(RecipientState),
    last_reply=st.text(max_size=30),
    attempts=st.integers(min_value=0, max_value=10**6),
    next_attempt=st.none() | times,
    account=optional_text,
    detail=optional_text,
)

envelopes = st.builds(
    Envelope,
    sender=st.text(max_size=30),
    recipients=st.lists(recipients, min_size=1, max_size=4).map(tuple),
    received_at=times,
    params=st.builds(
        MailParams,
        size=st.none() | st.integers(min_value=0, max_value=2**40),
        body=optional_text,
        smtputf8=st.booleans(),
        ret=optional_text,
        envid=optional_text,
    ),
    client=st.none()
    | st.builds(ClientInfo, st.text(max_size=20), st.text(max_size=20), optional_text),
    authenticated=optional_text,
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)


@settings(deadline=None, max_examples=200)
@given(envelopes)
def test_every_envelope_survives_the_round_trip(original: Envelope) -> None:
    assert Envelope.from_json(original.to_json()) == original


def test_an_address_decoded_with_surrogateescape_survives_the_round_trip() -> None:
    raw = b"j\xf6rg@example.org".decode("utf-8", "surrogateescape")
    original = envelope(raw, sender=raw)
    assert Envelope.from_json(original.to_json()).sender == raw


def test_the_file_is_plain_json_an_administrator_can_read() -> None:
    document = json.loads(envelope("bob@example.net").to_json())
    assert document["sender"] == "alice@example.org"
    assert document["recipients"][0]["address"] == "bob@example.net"
    assert document["recipients"][0]["state"] == "pending"


def test_the_routed_account_and_detail_survive_the_round_trip() -> None:
    routed = EnvelopeRecipient(
        "alice@example.org",
        "alice+lists@example.org",
        account="alice@example.org",
        detail="lists",
    )
    original = Envelope(sender="bob@example.net", recipients=(routed,), received_at=1e9)
    (recipient,) = Envelope.from_json(original.to_json()).recipients
    assert (recipient.account, recipient.detail) == ("alice@example.org", "lists")


def test_an_envelope_queued_before_routing_was_recorded_still_reads() -> None:
    # What the previous version's to_json wrote (commit 039d5b9): recipients without
    # "account" and "detail".
    old = (
        b'{"authenticated": null, "client": {"helo": "client.example.org", "hostname": null,'
        b' "ip": "192.0.2.7"}, "delay_warned": false, "extra": {}, "held": false,'
        b' "params": {"body": "8BITMIME", "envid": null,'
        b' "ret": null, "size": 1000, "smtputf8": false}, "received_at": 1700000000.0,'
        b' "recipients": [{"address": "alice@example.org", "attempts": 0, "last_reply": "",'
        b' "next_attempt": null, "notify": null, "original": "alice+lists@example.org",'
        b' "state": "pending"}], "sender": "bob@example.net", "version": 1}'
    )
    (recipient,) = Envelope.from_json(old).recipients
    assert recipient.address == "alice@example.org"
    assert (recipient.account, recipient.detail) == (None, None)


def test_a_detail_that_is_not_text_is_refused() -> None:
    document = json.loads(envelope().to_json())
    document["recipients"][0]["detail"] = 7
    with pytest.raises(EnvelopeError, match=r"recipients\[0\].detail: expected a string"):
        Envelope.from_json(json.dumps(document).encode())


def _tampered(**changes: object) -> bytes:
    document = json.loads(envelope().to_json())
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"", "not JSON"),
        (b"[1, 2]", "envelope: expected an object"),
        (_tampered(version=2), "unknown envelope version 2"),
        (_tampered(sender=None), "envelope.sender: expected a string"),
        (_tampered(recipients=[]), "at least one recipient"),
        (_tampered(received_at="yesterday"), "envelope.received_at: expected a number"),
        (_tampered(received_at=10**400), "envelope.received_at: number out of range"),
        (_tampered(extra={"a": 1}), "extra: expected an object of strings"),
    ],
)
def test_a_malformed_file_is_refused_saying_what_is_wrong(data: bytes, complaint: str) -> None:
    with pytest.raises(EnvelopeError, match=complaint):
        Envelope.from_json(data)


def test_an_unknown_recipient_state_is_refused() -> None:
    document = json.loads(envelope().to_json())
    document["recipients"][0]["state"] = "lost"
    with pytest.raises(EnvelopeError, match=r"recipients\[0\].state: unknown state 'lost'"):
        Envelope.from_json(json.dumps(document).encode())


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_are_an_envelope_or_an_envelope_error(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        Envelope.from_json(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(deadline=None, max_examples=300)
@given(
    envelopes,
    st.sampled_from(["sender", "recipients", "received_at", "params", "client", "extra"]),
    st.sampled_from(
        ["address", "notify", "state", "attempts", "next_attempt", "account", "detail", None]
    ),
    json_values,
)
def test_any_field_replaced_by_any_json_is_read_or_refused(
    original: Envelope, key: str, recipient_key: str | None, value: object
) -> None:
    document = json.loads(original.to_json())
    if recipient_key is None:
        document[key] = value
    else:
        document["recipients"][0][recipient_key] = value
    with contextlib.suppress(EnvelopeError):
        Envelope.from_json(json.dumps(document).encode())
