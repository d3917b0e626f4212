"""Delivering one message to another mail host over SMTP: the internet's MX hosts, or a
transport's next hop (`[host]:port` or `host:port`, as `mailroom.directory.nexthop`
stores them).

For each destination the hosts and addresses (from `mx`) are tried in order until one
takes the transaction; like Postfix, a refused or lost connection, a greeting that is
not 220, or a 4xx to EHLO/STARTTLS/MAIL moves on to the next address, and once every
address failed the recipients are deferred. In the transaction all recipients go in
one envelope and each gets the server's own answer: 2xx delivered, 4xx deferred, 5xx
failed. A connection lost after the message was sent but before the reply to the final
dot defers the recipients: the message may have arrived, so the cost of retrying is at
worst a duplicate, never a loss (DESIGN.md).

TLS: STARTTLS (RFC 3207) whenever offered. "opportunistic" (Postfix's `may`) does not
verify certificates (an unauthenticated encrypted session beats plain text, and MX
certificates are often self-signed) and falls back to plain text on the same address if
the handshake fails; "required" (Postfix's `encrypt`) defers rather than send in clear.
Certificates are verified (Postfix's `secure`: a trusted CA and the host's name) in two
cases, with no fallback: for a relay host we log in to (RelayLogin, RFC 4954 AUTH after
STARTTLS only), and for the MX hosts of a domain whose MTA-STS policy (RFC 8461) says
`enforce`, which also limits the hosts tried to those the policy lists (`mta_sts`).

The reply to DATA is returned as soon as it arrives; QUIT is sent without waiting for
its answer, so the caller can record the result before anything else happens.

The client is aiosmtplib: asyncio-native, typed, and its `rcpt` answers each recipient
separately, which is what per-recipient results need (smtplib's `sendmail` only
reports the refused ones, and blocks). It holds the message in memory while sending.

This module decides nothing about retries or bounces: it reports, per recipient, what
happened; the queue turns that into schedules and DSNs. It never reads configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiosmtplib
import dns.asyncresolver

from mailroom.delivery.mta_sts import apply_policy
from mailroom.delivery.mta_sts_cache import MtaStsPolicies
from mailroom.delivery.mx import MxHost, MxLookupError, resolve_addresses, resolve_mx

log = logging.getLogger("mailroom.delivery")

TlsPolicy = Literal["opportunistic", "required"]

QUIT_TIMEOUT = 30.0
"""Seconds a session may take to end after its transaction (the QUIT runs unawaited)."""

# An enhanced status code at the start of a reply text (RFC 3463 §2, RFC 2034 §4).
_ENHANCED_STATUS = re.compile(r"([245])\.[0-9]{1,3}\.[0-9]{1,3}\b")


class RemoteStatus(enum.Enum):
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    FAILED = "failed"


# The words Postfix logs for each outcome, which log tooling already parses.
_LOGGED_STATUS = {
    RemoteStatus.DELIVERED: "sent",
    RemoteStatus.DEFERRED: "deferred",
    RemoteStatus.FAILED: "bounced",
}


@dataclass(frozen=True)
class RemoteResult:
    """What happened to one recipient.

    `reply` is the remote server's reply ("250 2.0.0 Ok: queued"), always with an
    enhanced status code (added from the reply code's class when the server sent
    none); when no server answered it is our own diagnosis without a reply code
    ("4.4.1 connect to mx.example[192.0.2.1]:25: Connection refused").
    `remote_host` is "name[address]:port" of the host that answered, or of the last
    host tried, or None when DNS already failed.
    """

    status: RemoteStatus
    reply: str
    remote_host: str | None
    enhanced_status: str


@dataclass(frozen=True)
class RelayLogin:
    """Credentials for a relay host (SASL PLAIN or LOGIN, RFC 4954). With them, the
    session must be encrypted and the certificate verified before they are sent."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class _Target:
    name: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}[{self.address}]:{self.port}"


class _HostFailed(Exception):
    """This address could not take the transaction; the next one may."""

    def __init__(self, enhanced_status: str, text: str) -> None:
        super().__init__(text)
        self.enhanced_status = enhanced_status
        self.text = text


class _TlsHandshakeFailed(_HostFailed):
    """The TLS handshake failed after STARTTLS: in plain text this address may still work."""


def _smtp_reply(code: int, message: str) -> tuple[str, str]:
    """(reply text with enhanced status, enhanced status) for a server's reply."""
    text = " ".join(message.split())
    match = _ENHANCED_STATUS.match(text)
    if match and match.group(1) == str(code)[0]:
        return f"{code} {text}", match.group(0)
    # RFC 3463 §3.1: X.0.0 when nothing more specific is known.
    enhanced = f"{str(code)[0]}.0.0"
    return f"{code} {enhanced} {text}", enhanced


def _status_for(code: int) -> RemoteStatus:
    if 200 <= code < 300:
        return RemoteStatus.DELIVERED
    return RemoteStatus.FAILED if code >= 500 else RemoteStatus.DEFERRED


def _parse_nexthop(nexthop: str, default_port: int) -> tuple[str, int, bool]:
    """(host, port, look up MX) from `[host]:port` or `host:port` (normalize_nexthop's forms)."""
    if nexthop.startswith("["):
        host, _, rest = nexthop[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
        return host, port, False
    host, colon, port_text = nexthop.rpartition(":")
    if not colon or not port_text.isdigit():
        return nexthop, default_port, True
    return host, int(port_text), True


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def verified_tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Certificates checked against `ca_file` (default: the system's CAs) and the host's
    name (or address, for `[192.0.2.1]` next hops): Postfix's `secure` level."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _opportunistic_tls_context() -> ssl.SSLContext:
    """Encryption without authentication (Postfix `may`/`encrypt`; RFC 7435 opportunistic
    security): an MX's certificate name is not something DNS without DNSSEC vouches for."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _DestinationLimits:
    """One semaphore per destination, dropped when nobody holds or waits for it, so the
    table does not grow with every domain ever mailed."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._semaphores: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, destination: str) -> AsyncIterator[None]:
        entry = self._semaphores.get(destination)
        if entry is None:
            entry = (asyncio.Semaphore(self._limit), [0])
            self._semaphores[destination] = entry
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._semaphores[destination]


class RemoteDelivery:
    """SMTP client deliveries to other hosts, at most `max_connections_per_destination`
    at once per destination (a domain, or a transport's next hop)."""

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
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
        self._helo_name = helo_name
        self._connect_timeout = connect_timeout
        # RFC 5321 §4.5.3.2 suggests 5 minutes for most replies, 10 after the final dot;
        # one timeout keeps the configuration small.
        self._command_timeout = command_timeout
        self._tls_policy = tls_policy
        self._tls_context = _opportunistic_tls_context()
        self._verified_tls = verified_tls or verified_tls_context()
        self._mta_sts = mta_sts
        self._limits = _DestinationLimits(max_connections_per_destination)
        self._quitting: set[asyncio.Task[None]] = set()

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

    async def _targets(self, domain: str, nexthop: str | None) -> list[_Target]:
        """The addresses to try, in order, for the recipients' domain or the next hop."""
        if nexthop is None:
            hosts = await resolve_mx(domain, self._resolver)
            port = self._port
        else:
            host, port, use_mx = _parse_nexthop(nexthop, self._port)
            if use_mx:
                hosts = await resolve_mx(host, self._resolver)
            elif _is_address(host):
                hosts = [MxHost(host, 0, (host,))]
            else:
                hosts = [MxHost(host, 0, await resolve_addresses(self._resolver, host))]
        return [_Target(h.name, address, port) for h in hosts for address in h.addresses]

    async def _try_in_turn(
        self,
        targets: list[_Target],
        sender: str,
        recipients: list[str],
        message: bytes,
        queue_id: str,
        login: RelayLogin | None = None,
        *,
        verify: bool = False,
    ) -> dict[str, RemoteResult]:
        failure = _HostFailed("4.4.1", "no address to connect to")
        last: _Target | None = None
        for target in targets:
            last = target
            try:
                return await self._transaction(
                    target, sender, recipients, message, use_tls=True, login=login, verify=verify
                )
            except _TlsHandshakeFailed as error:
                failure = error
                if self._tls_policy == "required" or verify:
                    log.info("%s: %s", queue_id, error.text)
                    continue
                log.info("%s: %s; retrying without TLS", queue_id, error.text)
            except _HostFailed as error:
                log.info("%s: %s", queue_id, error.text)
                failure = error
                continue
            try:
                return await self._transaction(target, sender, recipients, message, use_tls=False)
            except _HostFailed as error:
                log.info("%s: %s", queue_id, error.text)
                failure = error
        # Every address failed: deferred, even after a 5xx greeting (Postfix's
        # smtp_skip_5xx_greeting), so the status code's class says 4 as the state does.
        enhanced = "4" + failure.enhanced_status[1:]
        reply = f"{enhanced} {failure.text}"
        where = str(last) if last else None
        return {r: RemoteResult(RemoteStatus.DEFERRED, reply, where, enhanced) for r in recipients}

    async def _transaction(
        self,
        target: _Target,
        sender: str,
        recipients: list[str],
        message: bytes,
        *,
        use_tls: bool,
        login: RelayLogin | None = None,
        verify: bool = False,
    ) -> dict[str, RemoteResult]:
        """One SMTP session with `target`. Raises _HostFailed when the next host should be
        tried; returns per-recipient results once the server has judged the envelope."""
        client = aiosmtplib.SMTP(
            hostname=target.address,
            port=target.port,
            local_hostname=self._helo_name,
            timeout=self._command_timeout,
            start_tls=False,
        )
        stage = "receiving the initial server greeting"
        finished = False
        try:
            try:
                await client.connect(timeout=self._connect_timeout)
            except aiosmtplib.SMTPConnectResponseError as error:
                reply, enhanced = _smtp_reply(error.code, error.message)
                # Postfix skips hosts that greet with 4xx or 5xx (smtp_skip_5xx_greeting).
                raise _HostFailed(
                    enhanced, f"host {target} refused to talk to me: {reply}"
                ) from None
            except (aiosmtplib.SMTPConnectError, OSError) as error:
                raise _HostFailed("4.4.1", f"connect to {target}: {_reason(error)}") from None
            stage = "performing the EHLO handshake"
            await self._hello(client, target)
            if use_tls and client.supports_extension("starttls"):
                stage = "performing the STARTTLS handshake"
                await self._starttls(client, target, verified=verify)
                stage = "performing the EHLO handshake after STARTTLS"
                await self._hello(client, target)
            elif self._tls_policy == "required" or verify:
                raise _HostFailed("4.7.4", f"TLS is required, but was not offered by host {target}")
            if login is not None:
                stage = "logging in"
                await self._login(client, target, login)
            stage = "sending MAIL FROM"
            results = await self._envelope_and_data(client, target, sender, recipients, message)
            finished = True
            self._quit_in_background(client)
            return results
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            raise _HostFailed(
                "4.4.2", f"conversation with {target} timed out while {stage}"
            ) from None
        except (aiosmtplib.SMTPServerDisconnected, OSError) as error:
            # OSError: a reset, or a TLS error (ssl.SSLError) in the encrypted session.
            raise _HostFailed(
                "4.4.2", f"lost connection with {target} while {stage}: {_reason(error)}"
            ) from None
        except aiosmtplib.SMTPException as error:
            # Anything else the client library objects to is this host's problem, not
            # the message's: try the next one.
            raise _HostFailed(
                "4.4.2", f"conversation with {target} failed while {stage}: {error}"
            ) from None
        finally:
            if not finished:
                client.close()

    def _quit_in_background(self, client: aiosmtplib.SMTP) -> None:
        """QUIT without waiting for the reply: the caller records the server's answer to
        DATA before anything else (a crash between a 250 and that record sends the
        message twice), so a server slow to answer QUIT must not delay it."""
        task = asyncio.create_task(self._quit(client))
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        try:
            async with asyncio.timeout(min(self._command_timeout, QUIT_TIMEOUT)):
                await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass  # the transaction is over; how the session ends changes nothing
        finally:
            client.close()

    async def _hello(self, client: aiosmtplib.SMTP, target: _Target) -> None:
        """EHLO, or HELO when the server refuses EHLO (RFC 5321 §3.2)."""
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError as error:
            if error.code < 500:
                reply, enhanced = _smtp_reply(error.code, error.message)
                raise _HostFailed(enhanced, f"host {target} refused EHLO: {reply}") from None
            try:
                await client.helo()
            except aiosmtplib.SMTPHeloError as helo_error:
                reply, enhanced = _smtp_reply(helo_error.code, helo_error.message)
                raise _HostFailed(
                    "4" + enhanced[1:], f"host {target} refused HELO: {reply}"
                ) from None

    async def _login(self, client: aiosmtplib.SMTP, target: _Target, login: RelayLogin) -> None:
        """AUTH (RFC 4954) on the encrypted session; a refusal defers, as Postfix does."""
        mechanisms = client.supported_auth_methods
        if "plain" in mechanisms:  # RFC 4616; the password goes once, on the TLS session
            authenticate = client.auth_plain
        elif "login" in mechanisms:
            authenticate = client.auth_login
        else:
            raise _HostFailed("4.7.0", f"host {target} offers no AUTH PLAIN or LOGIN")
        try:
            # One mechanism only: trying the next after a refusal (aiosmtplib's login())
            # sends the password again for nothing, and some servers then hang.
            await authenticate(login.username, login.password)
        except aiosmtplib.SMTPResponseException as error:
            reply, enhanced = _smtp_reply(error.code, error.message)
            raise _HostFailed(
                "4" + enhanced[1:], f"SASL authentication failed; server {target} said: {reply}"
            ) from None
        except aiosmtplib.SMTPException as error:
            raise _HostFailed("4.7.0", f"cannot log in to host {target}: {error}") from None

    async def _starttls(self, client: aiosmtplib.SMTP, target: _Target, *, verified: bool) -> None:
        if verified:
            # The name (or address) the certificate must carry is the one we were given.
            server_hostname: str | None = target.name
            context = self._verified_tls
        else:
            server_hostname = None if _is_address(target.name) else target.name
            context = self._tls_context
        try:
            await client.starttls(server_hostname=server_hostname, tls_context=context)
        except aiosmtplib.SMTPResponseException as error:
            reply, enhanced = _smtp_reply(error.code, error.message)
            raise _TlsHandshakeFailed(
                "4" + enhanced[1:], f"host {target} refused STARTTLS: {reply}"
            ) from None
        except (ssl.SSLError, aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
            raise _TlsHandshakeFailed(
                "4.7.5", f"TLS handshake with {target} failed: {_reason(error)}"
            ) from None

    async def _envelope_and_data(
        self,
        client: aiosmtplib.SMTP,
        target: _Target,
        sender: str,
        recipients: list[str],
        message: bytes,
    ) -> dict[str, RemoteResult]:
        where = str(target)
        results: dict[str, RemoteResult] = {}
        utf8 = not (sender.isascii() and all(r.isascii() for r in recipients))
        if utf8 and not client.supports_extension("smtputf8"):
            # RFC 6531 §3.2: without SMTPUTF8 on the server the message must not be sent.
            reply = f"5.6.7 host {target} does not support SMTPUTF8 for non-ASCII addresses"
            return {r: RemoteResult(RemoteStatus.FAILED, reply, where, "5.6.7") for r in recipients}
        encoding = "utf-8" if utf8 else "ascii"
        options: list[str] = []
        if client.supports_extension("size"):
            options.append(f"SIZE={len(message)}")  # RFC 1870 §6
        if not message.isascii() and client.supports_extension("8bitmime"):
            # RFC 6152 §3. Without 8BITMIME we send as is, as Postfix does by default.
            options.append("BODY=8BITMIME")
        if utf8:
            options.append("SMTPUTF8")
        try:
            await client.mail(sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as error:
            reply, enhanced = _smtp_reply(error.code, error.message)
            if error.code < 500:
                raise _HostFailed(
                    enhanced, f"host {target} said: {reply} (in reply to MAIL FROM)"
                ) from None
            status = _status_for(error.code)
            return {r: RemoteResult(status, reply, where, enhanced) for r in recipients}
        accepted: list[str] = []
        for recipient in recipients:
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as error:
                reply, enhanced = _smtp_reply(error.code, error.message)
                results[recipient] = RemoteResult(_status_for(error.code), reply, where, enhanced)
            else:
                accepted.append(recipient)
        if not accepted:
            return results
        try:
            response = await client.data(message)
        except aiosmtplib.SMTPDataError as error:
            reply, enhanced = _smtp_reply(error.code, error.message)
            status = _status_for(error.code)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as error:
            # The server may have the message: retry, at worst a duplicate (RFC 1047).
            enhanced = "4.4.2"
            reply = (
                f"4.4.2 lost connection with {target} while sending the message: "
                f"{_reason(error)}; it may be delivered more than once"
            )
            status = RemoteStatus.DEFERRED
        else:
            reply, enhanced = _smtp_reply(response.code, response.message)
            status = _status_for(response.code)
        for recipient in accepted:
            results[recipient] = RemoteResult(status, reply, where, enhanced)
        return {r: results[r] for r in recipients}

    @staticmethod
    def _log(queue_id: str, results: dict[str, RemoteResult]) -> None:
        for recipient, result in results.items():
            log.info(
                "%s: to=<%s>, relay=%s, status=%s (%s)",
                queue_id,
                recipient,
                result.remote_host or "none",
                _LOGGED_STATUS[result.status],
                result.reply,
            )


def _reason(error: BaseException) -> str:
    """The operating system's words for a socket error, else the exception's text."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__
    return str(error) or type(error).__name__
