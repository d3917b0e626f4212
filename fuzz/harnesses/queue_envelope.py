"""The queue's envelope files (`mailroom.queue.envelope.Envelope.from_json`): the
`ID.env` JSON beside each queued message, read at every start ("an envelope that trusts
nothing": a torn or edited file must be refused, not half-read).

The input is the file's octets. Contract: an `Envelope`, or `EnvelopeError` (a
`ValueError`); what is read writes back (`to_json`) to a file that reads as an equal
envelope. A crash: any other exception or a broken round trip.
"""

from __future__ import annotations

from mailroom.queue.envelope import Envelope, EnvelopeError


def one_input(data: bytes) -> None:
    try:
        envelope = Envelope.from_json(data)
    except EnvelopeError:
        return
    assert envelope.recipients
    again = Envelope.from_json(envelope.to_json())
    assert again == envelope, (again, envelope)
