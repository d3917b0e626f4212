"""The one check of a message received on port 25: SPF (MAIL FROM and HELO), DKIM, ARC
and DMARC composed into a verdict — the Authentication-Results field to prepend (and
forged ones to drop), what to do with the message, and the log line.

What is done with DMARC's verdict, and why:
- a failing message whose policy (after `pct`) is reject is refused at DATA with
  `550 5.7.1` (RFC 7489 §6.6.4, §10.3 for the reply's place in the transaction);
- quarantine (or a reject sampled out by `pct`) delivers it to the recipient's junk
  folder (§6.3: "treat with suspicion");
- a *temporary* failure under p=reject — the aligned SPF or DKIM could not be checked
  because DNS failed for now — is answered `451` so that the sender retries, as
  OpenDMARC does when it cannot finish its evaluation for a DNS failure (its milter
  tempfails rather than guessing) and as Postfix's policyd-spf does with
  `TempError_Defer`; the enhanced code is RFC 7372's `4.7.24` for SPF and RFC 3463's
  `4.7.5` (cryptographic failure) for DKIM. Accepting instead would let a forgery in
  whenever the victim's DNS is slow. `defer_on_temperror = false` accepts (and writes
  dmarc=temperror). A DMARC record that could not be fetched at all is not deferred:
  the policy is unknown, so there is nothing to honour.
SPF and DKIM results alone never refuse a message here; DMARC is the policy of record.

Bounds: SPF has its own (RFC 7208 §4.6.4, spf.py); DKIM, ARC and DMARC together run
within `time_limit_seconds`, past which what is unfinished is a temperror. The message
is read into memory once (DKIM needs it whole; its size is bounded by the SMTP limit).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mailroom.config.mailauth import DomainAuthenticationPolicy, InboundAuthenticationConfig
from mailroom.dns import Resolver
from mailroom.mailauth.dkim_verify import DkimResult, verify_dkim
from mailroom.mailauth.dmarc import DmarcResult, check_dmarc, public_suffix_list
from mailroom.mailauth.results import (
    ArcOutcome,
    Checks,
    HeadRewrite,
    authentication_results,
    rewrite_head,
)
from mailroom.mailauth.spf import SpfLimits, SpfResult, check_helo, check_mail_from
from mailroom.message.headers import HeaderBlock, parse_header_block

log = logging.getLogger("mailroom.mailauth")

ArcVerifier = Callable[[bytes, Resolver], Awaitable[ArcOutcome]]
"""`mailauth.arc.verify_arc`."""


class Action(Enum):
    ACCEPT = "accept"
    QUARANTINE = "quarantine"
    REJECT = "reject"
    DEFER = "defer"


@dataclass(frozen=True)
class Arrival:
    """What the SMTP session knows of the message's arrival."""

    client_ip: str
    helo: str
    sender: str
    """The reverse-path ("" for the null sender)."""
    recipients: tuple[str, ...]
    queue_id: str = "NOQUEUE"


@dataclass(frozen=True)
class Verdict:
    action: Action
    rewrite: HeadRewrite
    """The Authentication-Results field prepended, forged ones removed."""
    reply: tuple[int, str, str] | None = None
    """(code, enhanced code, text) for REJECT and DEFER."""
    log_line: str = ""
    checks: Checks = field(default_factory=Checks)


@dataclass(frozen=True)
class Wanted:
    """The checks and actions for one message, from its recipient domains' policies."""

    spf: bool
    dkim: bool
    arc: bool
    dmarc: bool
    reject: bool
    quarantine: bool


class InboundAuthentication:
    """The check, with the host's resolver and the `[inbound_authentication]` section."""

    def __init__(
        self,
        config: InboundAuthenticationConfig,
        resolver: Resolver,
        authserv_id: str,
        *,
        arc: ArcVerifier | None = None,
        sample: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.resolver = resolver
        self.authserv_id = authserv_id
        self.arc = arc
        self.sample = sample
        """A number in [0, 1) for DMARC's pct (fixed in tests)."""
        if config.dmarc or any(p.dmarc for p in config.domains.values()):
            public_suffix_list()  # read now (~0.2 s), not on the event loop at a first message

    async def check(self, message: Path, arrival: Arrival) -> Verdict:
        """Check the message stored at `message` (its header section first)."""
        data = await asyncio.to_thread(message.read_bytes)
        return await self.check_bytes(data, arrival)

    async def check_bytes(self, data: bytes, arrival: Arrival) -> Verdict:
        wanted = self._wanted(arrival.recipients)
        header = parse_header_block(data, 0, len(data))
        deadline = asyncio.get_running_loop().time() + self.config.time_limit_seconds
        spf, helo, dkim, arc = await asyncio.gather(
            self._spf_mail_from(arrival) if wanted.spf else _nothing(),
            self._spf_helo(arrival) if wanted.spf else _nothing(),
            self._dkim(data, deadline) if wanted.dkim or wanted.dmarc else _nothing(),
            self._arc(data, deadline) if wanted.arc and self.arc is not None else _nothing(),
        )
        dmarc: DmarcResult | None = None
        if wanted.dmarc:
            dmarc = await self._dmarc(header, spf, dkim or [], deadline)
        checks = Checks(
            spf=spf, helo=helo, dkim=dkim if wanted.dkim else None, arc=arc, dmarc=dmarc
        )
        action, reply = decide(dmarc, wanted, defer_on_temperror=self.config.defer_on_temperror)
        field_text = authentication_results(self.authserv_id, checks)
        rewrite = rewrite_head(data, header, self.authserv_id, field_text)
        line = log_line(arrival, checks, action)
        log.info("%s", line)
        return Verdict(action, rewrite, reply, line, checks)

    def _wanted(self, recipients: Sequence[str]) -> Wanted:
        policies = [self.config.for_domain(r.rpartition("@")[2]) for r in recipients] or [
            self.config.for_domain("")
        ]
        return merged(policies)

    def _limits(self) -> SpfLimits:
        return SpfLimits(
            max_dns_lookups=self.config.max_dns_lookups,
            max_void_lookups=self.config.max_void_lookups,
            time_limit=self.config.spf_time_limit_seconds,
        )

    async def _spf_mail_from(self, arrival: Arrival) -> SpfResult:
        return await check_mail_from(
            self.resolver,
            client_ip=arrival.client_ip,
            sender=arrival.sender,
            helo=arrival.helo,
            receiver=self.authserv_id,
            limits=self._limits(),
        )

    async def _spf_helo(self, arrival: Arrival) -> SpfResult:
        return await check_helo(
            self.resolver,
            client_ip=arrival.client_ip,
            helo=arrival.helo,
            receiver=self.authserv_id,
            limits=self._limits(),
        )

    async def _dkim(self, data: bytes, deadline: float) -> list[DkimResult]:
        try:
            async with asyncio.timeout_at(deadline):
                return await verify_dkim(
                    data, self.resolver, max_signatures=self.config.max_dkim_signatures
                )
        except TimeoutError:
            return [DkimResult("temperror", "", "", "", "verification took too long")]

    async def _arc(self, data: bytes, deadline: float) -> ArcOutcome | None:
        assert self.arc is not None
        try:
            async with asyncio.timeout_at(deadline):
                return await self.arc(data, self.resolver)
        except TimeoutError:
            log.info("ARC verification took longer than %ss", self.config.time_limit_seconds)
            return None

    async def _dmarc(
        self,
        header: HeaderBlock,
        spf: SpfResult | None,
        dkim: Sequence[DkimResult],
        deadline: float,
    ) -> DmarcResult:
        try:
            async with asyncio.timeout_at(deadline):
                return await check_dmarc(self.resolver, header, spf, dkim, sample=self.sample)
        except TimeoutError:
            return DmarcResult("temperror", "", reason="DMARC lookups took too long")


async def _nothing() -> None:
    return None


def merged(policies: Sequence[DomainAuthenticationPolicy]) -> Wanted:
    """One message for several recipient domains: a check runs if any domain wants it;
    reject only if every domain honours it; quarantine if any does."""
    return Wanted(
        spf=any(p.spf for p in policies),
        dkim=any(p.dkim for p in policies),
        arc=any(p.arc for p in policies),
        dmarc=any(p.dmarc for p in policies),
        reject=all(p.dmarc and p.dmarc_reject for p in policies),
        quarantine=any(p.dmarc and p.dmarc_quarantine for p in policies),
    )


def decide(
    dmarc: DmarcResult | None, wanted: Wanted, *, defer_on_temperror: bool
) -> tuple[Action, tuple[int, str, str] | None]:
    """What to do with the message, from DMARC's result (see the module docstring)."""
    if dmarc is None or dmarc.result not in ("fail", "temperror"):
        return Action.ACCEPT, None
    disposition = dmarc.disposition
    if disposition == "reject" and not wanted.reject:
        disposition = "quarantine"  # a domain that does not refuse still gets it in Junk
    if disposition == "reject":
        if dmarc.result == "fail":
            text = f"Email from {dmarc.from_domain} rejected per its DMARC policy"
            return Action.REJECT, (550, "5.7.1", text)
        if defer_on_temperror:
            enhanced = "4.7.24" if dmarc.temporary == "spf" else "4.7.5"
            text = (
                f"temporary DNS failure authenticating {dmarc.from_domain} "
                "(DMARC policy reject); try again later"
            )
            return Action.DEFER, (451, enhanced, text)
        return Action.ACCEPT, None
    if disposition == "quarantine" and wanted.quarantine:
        return Action.QUARANTINE, None
    return Action.ACCEPT, None


def log_line(arrival: Arrival, checks: Checks, action: Action) -> str:
    """`QUEUEID: client=..., spf=..., dkim=..., arc=..., dmarc=..., action=...`."""
    parts = [f"{arrival.queue_id}: mailauth client={arrival.client_ip}"]
    if checks.spf is not None:
        parts.append(f"spf={checks.spf.result} ({checks.spf.domain or '-'})")
    if checks.helo is not None:
        parts.append(f"helo-spf={checks.helo.result} ({checks.helo.domain or '-'})")
    if checks.dkim is not None:
        if not checks.dkim:
            parts.append("dkim=none")
        for signature in checks.dkim:
            parts.append(f"dkim={signature.result} (d={signature.domain})")
    if checks.arc is not None:
        parts.append(f"arc={checks.arc.result}")
    if checks.dmarc is not None:
        dmarc = checks.dmarc
        parts.append(
            f"dmarc={dmarc.result} (from={dmarc.from_domain or '-'}, p={dmarc.policy}, "
            f"dis={dmarc.disposition})"
        )
    parts.append(f"action={action.value}")
    return ", ".join(parts)
