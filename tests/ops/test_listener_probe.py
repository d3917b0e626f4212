"""The check's reading of a listener's greeting, against whatever a server (or something
else on its port) may send: it is the protocol's greeting, or the listener is down with a
short printable reason for the status line; nothing else escapes."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.app.listener_probe import ListenerDown, greeted
from mailroom.config import Protocol


class Discard:
    """Where the probe's request goes (only the web probe writes before reading)."""

    def write(self, data: bytes) -> None:
        pass


async def read_greeting(protocol: Protocol, data: bytes) -> str | None:
    reader = asyncio.StreamReader(limit=1024)
    reader.feed_data(data)
    reader.feed_eof()
    try:
        await greeted(protocol, reader, Discard())  # type: ignore[arg-type]
    except ListenerDown as error:
        return str(error)
    return None


@settings(max_examples=300, deadline=None)
@given(
    protocol=st.sampled_from(list(Protocol)),
    data=st.one_of(
        st.binary(max_size=3000),
        st.lists(
            st.sampled_from(
                [
                    b"220 hi\r\n",
                    b"* OK\r\n",
                    b"+OK\r\n",
                    b"OK\r\n",
                    b'"SASL" ""\r\n',
                    b"x" * 2000,
                    b"\r\n",
                    b"\x00\n",
                    b"BYE\r\n",
                    b"HTTP/1.1 200 OK\r\n",
                ]
            ),
            max_size=60,
        ).map(b"".join),
    ),
)
def test_any_answer_is_a_greeting_or_a_short_reason(protocol: Protocol, data: bytes) -> None:
    reason = asyncio.run(read_greeting(protocol, data))
    if reason is not None:
        assert len(reason) < 120
        assert reason.isprintable()  # one line; the status line drops `|` (health.py)


@pytest.mark.parametrize(
    ("protocol", "data", "reason"),
    [
        (Protocol.SMTP, b"220 mail.example.test ESMTP\r\n", None),
        (Protocol.SMTP, b"554 5.7.1 go away\r\n", "answered '554 5.7.1 go away'"),
        (Protocol.IMAP, b"* BYE too busy\r\n", "answered '* BYE too busy'"),
        (Protocol.MANAGESIEVE, b'"IMPLEMENTATION" "Mailroom"\r\n"SASL" "PLAIN"\r\nOK\r\n', None),
        (Protocol.POP3, b"", "closed without a greeting"),
        (Protocol.WEB, b"HTTP/1.1 404 Not Found\r\n", None),
        (Protocol.IMAP, b"x" * 5000, "answered a line too long"),
    ],
)
async def test_greetings(protocol: Protocol, data: bytes, reason: str | None) -> None:
    assert await read_greeting(protocol, data) == reason
