"""Bounces to the SRS addresses our forwarding made: the original sender an SRS
recipient stands for (RFC 5321 §4.5.5: a bounce goes to the reverse path, which SRS
rewrote into an address of ours).

Routing only asks; the scheme itself (hashes, timestamps, the secret) is
`mailroom.delivery.srs`, which forwarding uses to mint the addresses. Routing may not
import delivery, so it declares here the little it needs, and `app` passes the one
rewriter in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SrsReverser(Protocol):
    """What routing asks of SRS (mailroom.delivery.srs.SrsRewriter implements it)."""

    domain: str
    """The domain our SRS addresses are in."""

    def is_srs(self, address: str) -> bool: ...

    def reverse(self, address: str) -> str:
        """The original sender; ValueError if `address` is forged, damaged or too old."""
        ...


@dataclass(frozen=True)
class SrsVerdict:
    """What an address in the SRS domain that looks like SRS stands for."""

    original_sender: str | None
    """The sender to send the bounce on to; None when the address does not reverse."""
    error: str = ""
    """Why it does not reverse (forged, damaged, too old)."""


def reverse_srs(srs: SrsReverser, address: str) -> SrsVerdict | None:
    """None for an address that is not one of our SRS addresses (routing goes on as
    for any address), else the sender it stands for or why it stands for none."""
    if address.rpartition("@")[2].lower() != srs.domain.lower():
        return None
    if not srs.is_srs(address):
        return None
    try:
        return SrsVerdict(srs.reverse(address))
    except ValueError as error:
        return SrsVerdict(None, str(error))
