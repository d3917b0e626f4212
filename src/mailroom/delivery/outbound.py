"""Mail for other hosts, as the queue hands it out: choose the next hop (a domain's
transport, else the relay host, else the MX hosts), DKIM-sign what comes from our
domains, ARC-seal what we forward (RFC 8617), and send through `remote`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from mailroom.config import Config, ConfigError, ConfigProblem
from mailroom.delivery.remote import RelayLogin, RemoteDelivery, RemoteResult
from mailroom.delivery.srs import SrsRewriter
from mailroom.mailauth import DkimError, DkimSigner
from mailroom.mailauth.arc import ArcSealer

log = logging.getLogger("mailroom.delivery")


def relayhost_login(config: Config) -> RelayLogin | None:
    """The relay host's credentials: `relayhost_username` and the first line of
    `relayhost_password_file`. ConfigError names the key if the file cannot be read or
    is empty, so the server does not start without them."""
    settings = config.delivery
    if settings.relayhost_username is None or settings.relayhost_password_file is None:
        return None
    password_file = config.resolve(settings.relayhost_password_file)

    def problem(message: str) -> ConfigError:
        key = "delivery.relayhost_password_file"
        return ConfigError(config.source or Path("."), [ConfigProblem(None, key, message)])

    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise problem(f"cannot read {password_file}: {error}") from None
    if not lines or not lines[0]:
        raise problem(f"{password_file} is empty; put the password on its first line")
    return RelayLogin(settings.relayhost_username, lines[0])


class NexthopRouter(Protocol):
    async def nexthop(self, domain: str) -> str | None: ...

    async def is_local_domain(self, domain: str) -> bool: ...


def author_domain(message: bytes) -> str | None:
    """The domain of the From: header field: what DKIM's d= must match for DMARC."""
    headers = BytesHeaderParser().parsebytes(message)
    address = parseaddr(str(headers.get("From", "")))[1]
    domain = address.rpartition("@")[2].strip().lower()
    return domain or None


class Outbound:
    def __init__(
        self,
        remote: RemoteDelivery,
        router: NexthopRouter,
        *,
        relayhost: str | None,
        signer: DkimSigner | None,
        srs: SrsRewriter | None,
        relayhost_login: RelayLogin | None = None,
        sealer: ArcSealer | None = None,
    ) -> None:
        """`relayhost_login`: log in to the relay host with it (never to anyone else);
        `sealer`: ARC-seal forwarded mail with it."""
        self.remote = remote
        self.router = router
        self.relayhost = relayhost
        self.relayhost_login = relayhost_login if relayhost else None
        self.signer = signer
        self.srs = srs
        self.sealer = sealer

    async def send(
        self,
        queue_id: str,
        message: Path,
        sender: str,
        recipients: list[str],
        domain: str,
        *,
        forwarded_for: Sequence[str] = (),
    ) -> dict[str, RemoteResult]:
        """One attempt for `recipients` (all in `domain`): through the domain's transport,
        else the relay host, else its MX hosts. `forwarded_for`: the addresses the mail
        came in for, when it is forwarded mail (empty for members' own submissions)."""
        body = await asyncio.to_thread(message.read_bytes)
        body = await self.signed(queue_id, body)
        if forwarded_for:
            body = await self.sealed(queue_id, body, forwarded_for)
        transport = await self.router.nexthop(domain)
        if transport is None:
            sender = await self.forwarding_sender(queue_id, sender)
        return await self.remote.deliver(
            sender=sender,
            recipients=recipients,
            message=body,
            nexthop=transport or self.relayhost,
            queue_id=queue_id,
            login=None if transport else self.relayhost_login,
        )

    async def forwarding_sender(self, queue_id: str, sender: str) -> str:
        """The sender of mail that leaves for the internet: another domain's sender means
        we forward it (an alias), so SPF at the receiver needs it rewritten by SRS. Our
        own domains' senders, the null sender, and mail to a transport's (internal) host
        keep theirs."""
        if self.srs is None or not sender:
            return sender
        if await self.router.is_local_domain(sender.rpartition("@")[2]):
            return sender
        rewritten = self.srs.forward(sender)
        if rewritten != sender:
            log.info("%s: sender <%s> rewritten to <%s> (SRS)", queue_id, sender, rewritten)
        return rewritten

    async def signed(self, queue_id: str, message: bytes) -> bytes:
        """`message` with a DKIM-Signature if its author's domain has a key."""
        if self.signer is None:
            return message
        domain = author_domain(message)
        if domain is None:
            return message
        try:
            header = await self.signer.sign_async(message, domain)
        except DkimError as error:
            log.warning("%s: sent unsigned: %s", queue_id, error)
            return message
        return message if header is None else header + message

    async def sealed(self, queue_id: str, message: bytes, forwarded_for: Sequence[str]) -> bytes:
        """`message` with an ARC set (RFC 8617 §5.1) by the forwarding domain, if it has a
        key and our reception left its Authentication-Results. Sealed after DKIM signing:
        the ARC-Message-Signature covers the DKIM-Signature (RFC 8617 §4.1.2)."""
        if self.sealer is None:
            return message
        domain = await self.forwarding_domain(message, forwarded_for)
        if domain is None:
            return message
        try:
            fields = await self.sealer.seal_async(message, domain)
        except DkimError as error:
            log.warning("%s: forwarded without an ARC seal: %s", queue_id, error)
            return message
        if fields is None:
            return message
        log.info("%s: ARC-sealed by %s", queue_id, domain)
        return fields + message

    async def forwarding_domain(self, message: bytes, forwarded_for: Sequence[str]) -> str | None:
        """Ours among the domains the mail came in for: an alias's domain (the envelope's
        original recipient), else the domain of the topmost Delivered-To (what a Sieve
        redirect writes, naming the member it was delivered to)."""
        candidates = [address.rpartition("@")[2].lower() for address in forwarded_for]
        delivered_to = topmost_delivered_to(message)
        if delivered_to is not None:
            candidates.append(delivered_to)
        for domain in dict.fromkeys(candidates):
            if domain and await self.router.is_local_domain(domain):
                return domain
        return None


def topmost_delivered_to(message: bytes) -> str | None:
    """The domain of the first `Delivered-To:` header field, if the header has one."""
    headers = BytesHeaderParser().parsebytes(message)
    value = headers.get("Delivered-To")
    if value is None:
        return None
    domain = parseaddr(str(value))[1].rpartition("@")[2].strip().lower()
    return domain or None
