"""One SMTP client session with one address of another mail host: greeting, EHLO (or
HELO), STARTTLS (RFC 3207), AUTH for a relay host (RFC 4954), then one envelope for all
recipients and the message.

Each recipient gets the server's own answer: 2xx delivered, 4xx deferred, 5xx failed
(`remote_replies`). Anything that says "this address cannot take the transaction" (a
refused or lost connection, a greeting that is not 220, a 4xx to EHLO/STARTTLS/MAIL)
raises HostFailed, so that `remote` tries the next address, as Postfix does. A
connection lost after the message was sent but before the reply to the final dot
defers the recipients: the message may have arrived, so the cost of retrying is at
worst a duplicate, never a loss (DESIGN.md).

The reply to DATA is returned as soon as it arrives; QUIT is sent without waiting for
its answer, so the caller can record the result before anything else happens.

The client is aiosmtplib: asyncio-native, typed, and its `rcpt` answers each recipient
separately, which is what per-recipient results need (smtplib's `sendmail` only
reports the refused ones, and blocks). It holds the message in memory while sending.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

import aiosmtplib

from mailroom.delivery.mx import is_ip_address
from mailroom.delivery.outbound_tls import TlsPolicy
from mailroom.delivery.remote_replies import (
    RemoteResult,
    RemoteStatus,
    failure_reason,
    smtp_reply,
    status_for,
)

QUIT_TIMEOUT = 30.0
"""Seconds a session may take to end after its transaction (the QUIT runs unawaited)."""


@dataclass(frozen=True)
class RelayLogin:
    """Credentials for a relay host (SASL PLAIN or LOGIN, RFC 4954). With them, the
    session must be encrypted and the certificate verified before they are sent."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Target:
    """One address of one mail host: `name` for logs and the certificate's name."""

    name: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}[{self.address}]:{self.port}"


class HostFailed(Exception):
    """This address could not take the transaction; the next one may."""

    def __init__(self, enhanced_status: str, text: str) -> None:
        super().__init__(text)
        self.enhanced_status = enhanced_status
        self.text = text


class TlsHandshakeFailed(HostFailed):
    """The TLS handshake failed after STARTTLS: in plain text this address may still work."""


class SmtpClient:
    """Sessions as this host (`helo_name`) with other hosts' addresses."""

    def __init__(
        self,
        *,
        helo_name: str,
        connect_timeout: float,
        command_timeout: float,
        tls_policy: TlsPolicy,
        opportunistic_tls: ssl.SSLContext,
        verified_tls: ssl.SSLContext,
    ) -> None:
        self._helo_name = helo_name
        self._connect_timeout = connect_timeout
        # RFC 5321 §4.5.3.2 suggests 5 minutes for most replies, 10 after the final dot;
        # one timeout keeps the configuration small.
        self._command_timeout = command_timeout
        self._tls_policy = tls_policy
        self._tls_context = opportunistic_tls
        self._verified_tls = verified_tls
        self._quitting: set[asyncio.Task[None]] = set()

    async def transaction(
        self,
        target: Target,
        sender: str,
        recipients: list[str],
        message: bytes,
        *,
        use_tls: bool,
        login: RelayLogin | None = None,
        verify: bool = False,
    ) -> dict[str, RemoteResult]:
        """One SMTP session with `target`. Raises HostFailed when the next host should be
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
                reply, enhanced = smtp_reply(error.code, error.message)
                # Postfix skips hosts that greet with 4xx or 5xx (smtp_skip_5xx_greeting).
                raise HostFailed(
                    enhanced, f"host {target} refused to talk to me: {reply}"
                ) from None
            except (aiosmtplib.SMTPConnectError, OSError) as error:
                raise HostFailed("4.4.1", f"connect to {target}: {failure_reason(error)}") from None
            stage = "performing the EHLO handshake"
            await self._hello(client, target)
            if use_tls and client.supports_extension("starttls"):
                stage = "performing the STARTTLS handshake"
                await self._starttls(client, target, verified=verify)
                stage = "performing the EHLO handshake after STARTTLS"
                await self._hello(client, target)
            elif self._tls_policy == "required" or verify:
                raise HostFailed("4.7.4", f"TLS is required, but was not offered by host {target}")
            if login is not None:
                stage = "logging in"
                await self._login(client, target, login)
            stage = "sending MAIL FROM"
            results = await self._envelope_and_data(client, target, sender, recipients, message)
            finished = True
            self._quit_in_background(client)
            return results
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            raise HostFailed(
                "4.4.2", f"conversation with {target} timed out while {stage}"
            ) from None
        except (aiosmtplib.SMTPServerDisconnected, OSError) as error:
            # OSError: a reset, or a TLS error (ssl.SSLError) in the encrypted session.
            raise HostFailed(
                "4.4.2", f"lost connection with {target} while {stage}: {failure_reason(error)}"
            ) from None
        except aiosmtplib.SMTPException as error:
            # Anything else the client library objects to is this host's problem, not
            # the message's: try the next one.
            raise HostFailed(
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

    async def _hello(self, client: aiosmtplib.SMTP, target: Target) -> None:
        """EHLO, or HELO when the server refuses EHLO (RFC 5321 §3.2)."""
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError as error:
            if error.code < 500:
                reply, enhanced = smtp_reply(error.code, error.message)
                raise HostFailed(enhanced, f"host {target} refused EHLO: {reply}") from None
            try:
                await client.helo()
            except aiosmtplib.SMTPHeloError as helo_error:
                reply, enhanced = smtp_reply(helo_error.code, helo_error.message)
                raise HostFailed(
                    "4" + enhanced[1:], f"host {target} refused HELO: {reply}"
                ) from None

    async def _login(self, client: aiosmtplib.SMTP, target: Target, login: RelayLogin) -> None:
        """AUTH (RFC 4954) on the encrypted session; a refusal defers, as Postfix does."""
        mechanisms = client.supported_auth_methods
        if "plain" in mechanisms:  # RFC 4616; the password goes once, on the TLS session
            authenticate = client.auth_plain
        elif "login" in mechanisms:
            authenticate = client.auth_login
        else:
            raise HostFailed("4.7.0", f"host {target} offers no AUTH PLAIN or LOGIN")
        try:
            # One mechanism only: trying the next after a refusal (aiosmtplib's login())
            # sends the password again for nothing, and some servers then hang.
            await authenticate(login.username, login.password)
        except aiosmtplib.SMTPResponseException as error:
            reply, enhanced = smtp_reply(error.code, error.message)
            raise HostFailed(
                "4" + enhanced[1:], f"SASL authentication failed; server {target} said: {reply}"
            ) from None
        except aiosmtplib.SMTPException as error:
            raise HostFailed("4.7.0", f"cannot log in to host {target}: {error}") from None

    async def _starttls(self, client: aiosmtplib.SMTP, target: Target, *, verified: bool) -> None:
        if verified:
            # The name (or address) the certificate must carry is the one we were given.
            server_hostname: str | None = target.name
            context = self._verified_tls
        else:
            server_hostname = None if is_ip_address(target.name) else target.name
            context = self._tls_context
        try:
            await client.starttls(server_hostname=server_hostname, tls_context=context)
        except aiosmtplib.SMTPResponseException as error:
            reply, enhanced = smtp_reply(error.code, error.message)
            raise TlsHandshakeFailed(
                "4" + enhanced[1:], f"host {target} refused STARTTLS: {reply}"
            ) from None
        except (ssl.SSLError, aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
            raise TlsHandshakeFailed(
                "4.7.5", f"TLS handshake with {target} failed: {failure_reason(error)}"
            ) from None

    async def _envelope_and_data(
        self,
        client: aiosmtplib.SMTP,
        target: Target,
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
            reply, enhanced = smtp_reply(error.code, error.message)
            if error.code < 500:
                raise HostFailed(
                    enhanced, f"host {target} said: {reply} (in reply to MAIL FROM)"
                ) from None
            status = status_for(error.code)
            return {r: RemoteResult(status, reply, where, enhanced) for r in recipients}
        accepted: list[str] = []
        for recipient in recipients:
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as error:
                reply, enhanced = smtp_reply(error.code, error.message)
                results[recipient] = RemoteResult(status_for(error.code), reply, where, enhanced)
            else:
                accepted.append(recipient)
        if not accepted:
            return results
        try:
            response = await client.data(message)
        except aiosmtplib.SMTPDataError as error:
            reply, enhanced = smtp_reply(error.code, error.message)
            status = status_for(error.code)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as error:
            # The server may have the message: retry, at worst a duplicate (RFC 1047).
            enhanced = "4.4.2"
            reply = (
                f"4.4.2 lost connection with {target} while sending the message: "
                f"{failure_reason(error)}; it may be delivered more than once"
            )
            status = RemoteStatus.DEFERRED
        else:
            reply, enhanced = smtp_reply(response.code, response.message)
            status = status_for(response.code)
        for recipient in accepted:
            results[recipient] = RemoteResult(status, reply, where, enhanced)
        return {r: results[r] for r in recipients}
