"""The one SASL loop every protocol runs (`run_exchange`): challenges out through the
protocol's framing, the client's lines in, credentials or a failure back."""

from __future__ import annotations

import base64

import pytest

from mailroom.auth.sasl import (
    Credentials,
    SaslFailure,
    UnknownMechanism,
    plain_response,
    run_exchange,
)


class Client:
    """Plays the client's side: answers each challenge with the next scripted line."""

    def __init__(self, *lines: bytes | None) -> None:
        self.lines = list(lines)
        self.challenges: list[bytes] = []

    async def send_challenge(self, challenge: bytes) -> None:
        self.challenges.append(challenge)

    async def read_response(self) -> bytes | None:
        return self.lines.pop(0)


async def exchange(
    client: Client, mechanism: str, initial: bytes | None = None
) -> Credentials | SaslFailure:
    return await run_exchange(
        mechanism,
        initial,
        send_challenge=client.send_challenge,
        read_response=client.read_response,
    )


async def test_login_sends_both_prompts_base64_encoded_and_returns_the_credentials() -> None:
    client = Client(base64.b64encode(b"alice"), base64.b64encode(b"secret"))
    result = await exchange(client, "LOGIN")
    assert result == Credentials(authzid="", authcid="alice", password="secret")
    assert client.challenges == [b"VXNlcm5hbWU6", b"UGFzc3dvcmQ6"]


async def test_plain_with_an_initial_response_sends_no_challenge() -> None:
    client = Client()
    result = await exchange(client, "plain", plain_response("bob", "pw", authzid="alice"))
    assert result == Credentials(authzid="alice", authcid="bob", password="pw")
    assert client.challenges == []


async def test_plain_without_an_initial_response_sends_an_empty_challenge() -> None:
    client = Client(plain_response("bob", "pw"))
    assert await exchange(client, "PLAIN") == Credentials("", "bob", "pw")
    assert client.challenges == [b""]


async def test_a_cancel_is_a_failure_marked_cancelled() -> None:
    result = await exchange(Client(b"*"), "LOGIN")
    assert isinstance(result, SaslFailure)
    assert result.cancelled and not result.too_long


async def test_a_line_too_long_for_the_reader_is_a_failure_marked_too_long() -> None:
    result = await exchange(Client(None), "PLAIN")
    assert isinstance(result, SaslFailure)
    assert result.too_long and not result.cancelled


async def test_a_line_that_is_not_base64_fails_without_another_challenge() -> None:
    client = Client(b"not base64!")
    result = await exchange(client, "PLAIN")
    assert isinstance(result, SaslFailure)
    assert client.challenges == [b""]


async def test_an_unknown_mechanism_is_refused_before_anything_is_sent() -> None:
    client = Client()
    with pytest.raises(UnknownMechanism):
        await exchange(client, "CRAM-MD5")
    assert client.challenges == []
