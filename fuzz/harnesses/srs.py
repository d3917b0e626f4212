"""SRS addresses (`mailroom.delivery.srs.SrsRewriter`): bounces come back to
`SRS0=…@our.domain` addresses that anyone on the network can write, and `reverse` must
refuse every one we did not make.

The input, as text, is an envelope sender and a bounce recipient. Contract: `reverse`
returns an address or raises an `SrsError` (not ours, malformed, a forged hash, too
old); `forward` of any sender returns an address, and when it rewrote the sender,
`reverse` of that gives the sender back (SRS1 addresses: the first forwarder's SRS0
address). A crash: any other exception, or a round trip that does not return.
"""

from __future__ import annotations

import contextlib

from mailroom.delivery.srs import SrsError, SrsRewriter

NOW = 1_795_000_000.0
REWRITER = SrsRewriter([b"fuzz secret", b"old secret"], "forwarder.example", clock=lambda: NOW)


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    with contextlib.suppress(SrsError):
        REWRITER.reverse(text)
    forwarded = REWRITER.forward(text)
    if forwarded == text:
        return
    assert forwarded.endswith("@forwarder.example"), forwarded
    assert REWRITER.is_srs(forwarded), forwarded
    back = REWRITER.reverse(forwarded)
    if forwarded.startswith("SRS0="):
        assert back == text, (text, forwarded, back)
    else:  # SRS1: back to the first forwarder's SRS0 address
        assert back.startswith("SRS0"), (text, forwarded, back)
