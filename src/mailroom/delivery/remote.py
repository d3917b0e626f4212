"""Delivering one message to another mail host over SMTP: the internet's MX hosts, or a
next hop (a transport's, or the relay host; read with `mailroom.config.nexthop`).

For each destination the hosts and addresses (from `mx`) are tried in order until one
takes the transaction (`smtp_client`); like Postfix, a refused or lost connection, a
greeting that is not 220, or a 4xx to EHLO/STARTTLS/MAIL moves on to the next address,
and once every address failed the recipients are deferred. At most
`max_connections_per_destination` sessions run at once per destination
(`destination_limits`).

TLS: STARTTLS (RFC 3207) whenever offered, under the policy of `outbound_tls`; with
"opportunistic", a failed handshake is retried in plain text on the same address.
Certificates are verified (Postfix's `secure`: a trusted CA and the host's name) in two
cases, with no fallback: for a relay host we log in to (RelayLogin, RFC 4954 AUTH after
STARTTLS only), and for the MX hosts of a domain whose MTA-STS policy (RFC 8461) says
`enforce`, which also limits the hosts tried to those the policy lists (`mta_sts`).

This module decides nothing about retries or bounces: it reports, per recipient, what
happened (`remote_replies`); the queue turns that into schedules and DSNs. It never
reads configuration.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

from mailroom.config.nexthop import parse_nexthop
from mailroom.delivery.destination_limits import DestinationLimits
from mailroom.delivery.mta_sts import apply_policy
from mailroom.delivery.mta_sts_cache import MtaStsPolicies
from mailroom.delivery.mx import (
    MxHost,
    MxLookupError,
    is_ip_address,
    resolve_addresses,
    resolve_mx,
)
from mailroom.delivery.outbound_tls import (
    TlsPolicy,
    opportunistic_tls_context,
    verified_tls_context,
)
from mailroom.delivery.remote_replies import LOGGED_STATUS, RemoteResult, RemoteStatus
from mailroom.delivery.smtp_client import (
    HostFailed,
    RelayLogin,
    SmtpClient,
    Target,
    TlsHandshakeFailed,
)
from mailroom.dns import Resolver

__all__ = [
    "RelayLogin",
    "RemoteDelivery",
    "RemoteResult",
    "RemoteStatus",
    "TlsPolicy",
    "verified_tls_context",
]

log = logging.getLogger("mailroom.delivery")


class RemoteDelivery:
    """SMTP client deliveries to other hosts, at most `max_connections_per_destination`
    at once per destination (a domain, or a transport's next hop)."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        port: int = 25,
        helo_name: str,
        connect_timeout: float = 30.0,
        command_timeout: float = 300.0,
        tls_policy: TlsPolicy = "opportunistic",
        max_connections_per_destination: int = 5,
        verified_tls: ssl.SSLContext | None = None,
        mta_sts: MtaStsPolicies | None = None,
    ) -> None:
        if tls_policy not in ("opportunistic", "required"):
            raise ValueError(
                f"tls_policy must be 'opportunistic' or 'required', not {tls_policy!r}"
            )
        self._resolver = resolver
        self._port = port
        self._tls_policy = tls_policy
        self._client = SmtpClient(
            helo_name=helo_name,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
            tls_policy=tls_policy,
            opportunistic_tls=opportunistic_tls_context(),
            verified_tls=verified_tls or verified_tls_context(),
        )
        self._mta_sts = mta_sts
        self._limits = DestinationLimits(max_connections_per_destination)

    async def deliver(
        self,
        *,
        sender: str,
        recipients: list[str],
        message: Path | bytes,
        nexthop: str | None = None,
        queue_id: str = "NOQUEUE",
        login: RelayLogin | None = None,
    ) -> dict[str, RemoteResult]:
        """Deliver `message` to `recipients` (all of one domain) and say per recipient
        what happened. Never raises for anything the network or DNS does. With `login`
        (for a relay host), every host must offer STARTTLS with a verified certificate
        and accept the login, or the recipients are deferred."""
        if not recipients:
            return {}
        domains = {recipient.rpartition("@")[2].lower() for recipient in recipients}
        if len(domains) != 1:
            raise ValueError(f"recipients of one delivery must share a domain, not {domains}")
        domain = domains.pop()
        destination = nexthop or domain
        try:
            targets = await self._targets(domain, nexthop)
        except MxLookupError as error:
            status = RemoteStatus.FAILED if error.permanent else RemoteStatus.DEFERRED
            reply = f"{error.enhanced_status} {error.text}"
            results = {
                r: RemoteResult(status, reply, None, error.enhanced_status) for r in recipients
            }
            self._log(queue_id, results)
            return results
        verify = login is not None
        if nexthop is None and self._mta_sts is not None:
            policy = await self._mta_sts.policy(domain)
            targets, verify, refusal = apply_policy(policy, domain, targets, queue_id)
            if refusal is not None:
                results = {
                    r: RemoteResult(RemoteStatus.DEFERRED, refusal, None, "4.7.5")
                    for r in recipients
                }
                self._log(queue_id, results)
                return results
        body = await asyncio.to_thread(message.read_bytes) if isinstance(message, Path) else message
        async with self._limits.hold(destination):
            results = await self._try_in_turn(
                targets, sender, recipients, body, queue_id, login, verify=verify
            )
        self._log(queue_id, results)
        return results

    async def _targets(self, domain: str, nexthop: str | None) -> list[Target]:
        """The addresses to try, in order, for the recipients' domain or the next hop."""
        if nexthop is None:
            hosts = await resolve_mx(domain, self._resolver)
            port = self._port
        else:
            hop = parse_nexthop(nexthop)
            port = self._port if hop.port is None else hop.port
            if hop.look_up_mx:
                hosts = await resolve_mx(hop.host, self._resolver)
            elif is_ip_address(hop.host):
                hosts = [MxHost(hop.host, 0, (hop.host,))]
            else:
                hosts = [MxHost(hop.host, 0, await resolve_addresses(self._resolver, hop.host))]
        return [Target(h.name, address, port) for h in hosts for address in h.addresses]

    async def _try_in_turn(
        self,
        targets: list[Target],
        sender: str,
        recipients: list[str],
        message: bytes,
        queue_id: str,
        login: RelayLogin | None = None,
        *,
        verify: bool = False,
    ) -> dict[str, RemoteResult]:
        failure = HostFailed("4.4.1", "no address to connect to")
        last: Target | None = None
        for target in targets:
            last = target
            try:
                return await self._client.transaction(
                    target, sender, recipients, message, use_tls=True, login=login, verify=verify
                )
            except TlsHandshakeFailed as error:
                failure = error
                if self._tls_policy == "required" or verify:
                    log.info("%s: %s", queue_id, error.text)
                    continue
                log.info("%s: %s; retrying without TLS", queue_id, error.text)
            except HostFailed as error:
                log.info("%s: %s", queue_id, error.text)
                failure = error
                continue
            try:
                return await self._client.transaction(
                    target, sender, recipients, message, use_tls=False
                )
            except HostFailed as error:
                log.info("%s: %s", queue_id, error.text)
                failure = error
        # Every address failed: deferred, even after a 5xx greeting (Postfix's
        # smtp_skip_5xx_greeting), so the status code's class says 4 as the state does.
        enhanced = "4" + failure.enhanced_status[1:]
        reply = f"{enhanced} {failure.text}"
        where = str(last) if last else None
        return {r: RemoteResult(RemoteStatus.DEFERRED, reply, where, enhanced) for r in recipients}

    @staticmethod
    def _log(queue_id: str, results: dict[str, RemoteResult]) -> None:
        for recipient, result in results.items():
            log.info(
                "%s: to=<%s>, relay=%s, status=%s (%s)",
                queue_id,
                recipient,
                result.remote_host or "none",
                LOGGED_STATUS[result.status],
                result.reply,
            )
