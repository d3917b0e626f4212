"""DNS blocklist checks of a connecting client (RFC 5782), as Postfix's postscreen and
`reject_rbl_client` do them: each configured list is asked for the client's address
(IPv4 octets reversed, IPv6 nibbles reversed), the answers a list's filter accepts add
its weight to the client's score, and a score at the threshold refuses the client.

Bounded: one A lookup per list (at most `config.dnsbl.MAX_SITES`), all at once, and one
TXT lookup for the reason of the list named in the refusal, all within one deadline
per connection; a list that has not answered by then, or answered with an error, counts
as not listing the client (mail must not stop when a list does), and is logged.
Answers are cached by the host's resolver (`mailroom.dns`), negative ones too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mailroom.config.dnsbl import DnsblSite
from mailroom.dns import DnsError, DnsTemporaryError, NoRecord, Resolver

log = logging.getLogger("mailroom.mailauth")

MAX_REASON = 200
"""Characters of a list's TXT reason put into the reply."""

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def query_name(address: IpAddress, zone: str) -> str:
    """The name to look up for `address` in the list at `zone`: RFC 5782 §2.1 (IPv4,
    octets reversed) and §2.4 (IPv6, the 32 nibbles reversed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(reversed(str(address).split("."))) + "." + zone
    nibbles = address.packed.hex()  # not `exploded`: it fails on a scoped address (fe80::1%eth0)
    return ".".join(reversed(nibbles)) + "." + zone


@dataclass(frozen=True)
class Listing:
    """A list that names the client, with the answers that counted."""

    site: DnsblSite
    answers: tuple[str, ...]


@dataclass(frozen=True)
class DnsblVerdict:
    """What the lists said about one client."""

    address: str
    listings: tuple[Listing, ...]
    score: int
    refused: bool
    unanswered: tuple[str, ...]
    """Zones that failed or did not answer in time."""
    reason: str | None = None
    """The TXT reason of the list named in the refusal, cleaned for a reply."""

    @property
    def blocking(self) -> Listing | None:
        """The list named in the refusal: the first (in config order) with a positive
        weight."""
        return next((item for item in self.listings if item.site.weight > 0), None)

    def reply_text(self) -> str:
        """Postfix's wording (its `default_rbl_reply`), after the 554 5.7.1."""
        blocking = self.blocking
        zone = blocking.site.zone if blocking is not None else "DNS blocklists"
        text = f"Service unavailable; Client host [{self.address}] blocked using {zone}"
        return f"{text}; {self.reason}" if self.reason else text


class DnsblChecker:
    """Asks `sites` about clients through `resolver`."""

    def __init__(
        self,
        resolver: Resolver,
        sites: Sequence[DnsblSite],
        *,
        threshold: int = 1,
        timeout: float = 5.0,
    ) -> None:
        self.resolver = resolver
        self.sites = tuple(sites)
        self.threshold = threshold
        self.timeout = timeout

    async def check(self, address: str) -> DnsblVerdict:
        """The lists' verdict on the client at `address` (an IP address)."""
        client = ipaddress.ip_address(address.split("%", 1)[0])
        deadline = time.monotonic() + self.timeout
        tasks = {asyncio.create_task(self._ask(site, client)): site for site in self.sites}
        done: set[asyncio.Task[tuple[str, ...] | None]] = set()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=self.timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        listings = []
        unanswered = []
        for task, site in tasks.items():  # in config order
            answers = task.result() if task in done else None
            if answers is None:
                unanswered.append(site.zone)
            elif answers:
                listings.append(Listing(site, answers))
        score = sum(listing.site.weight for listing in listings)
        verdict = DnsblVerdict(
            str(client), tuple(listings), score, score >= self.threshold, tuple(unanswered)
        )
        if verdict.refused and verdict.blocking is not None:
            reason = await self._reason(verdict.blocking.site, client, deadline)
            verdict = DnsblVerdict(
                verdict.address, verdict.listings, score, True, verdict.unanswered, reason
            )
        return verdict

    async def refusal(self, address: str) -> str | None:
        """The text of the 554 refusing the client at `address`, or None to let it in;
        what the lists said is logged."""
        verdict = await self.check(address)
        for zone in verdict.unanswered:
            log.warning("dnsbl: %s did not answer for [%s]; not counted", zone, verdict.address)
        if not verdict.listings:
            return None
        named = ", ".join(
            f"{item.site.zone}={'/'.join(item.answers)}*{item.site.weight}"
            for item in verdict.listings
        )
        if not verdict.refused:
            log.info("dnsbl: [%s] listed by %s, score %d: let in", verdict.address, named,
                     verdict.score)  # fmt: skip
            return None
        log.warning("dnsbl: [%s] listed by %s, score %d: refused", verdict.address, named,
                    verdict.score)  # fmt: skip
        return verdict.reply_text()

    async def _ask(self, site: DnsblSite, client: IpAddress) -> tuple[str, ...] | None:
        """The answers of `site` that count (empty: not listed); None if it failed."""
        try:
            answers = await self.resolver.records(query_name(client, site.zone), "A")
        except NoRecord:
            return ()
        except DnsTemporaryError as error:
            log.debug("dnsbl: %s: %s", site.zone, error)
            return None
        if site.answers is None:
            return answers
        return tuple(answer for answer in answers if site.answers.matches(answer))

    async def _reason(self, site: DnsblSite, client: IpAddress, deadline: float) -> str | None:
        """The list's TXT record for the client (RFC 5782 §2.1), if it answers in time."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        with contextlib.suppress(DnsError, TimeoutError):
            texts = await asyncio.wait_for(
                self.resolver.txt(query_name(client, site.zone)), remaining
            )
            if texts:
                return reply_safe(texts[0].decode("ascii", "replace"))
        return None


def reply_safe(text: str) -> str | None:
    """A list's text fit for an SMTP reply line: printable ASCII, short; None if empty."""
    cleaned = "".join(c if " " <= c <= "~" else " " for c in text)
    cleaned = " ".join(cleaned.split())[:MAX_REASON]
    return cleaned or None
