"""Mail for other hosts, as the queue hands it out: choose the next hop (a domain's
transport, else the relay host, else the MX hosts), DKIM-sign what comes from our
domains, and send through `remote`."""

from __future__ import annotations

import asyncio
import logging
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from mailroom.delivery.remote import RemoteDelivery, RemoteResult
from mailroom.delivery.srs import SrsRewriter
from mailroom.mailauth import DkimError, DkimSigner

log = logging.getLogger("mailroom.delivery")


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
    ) -> None:
        self.remote = remote
        self.router = router
        self.relayhost = relayhost
        self.signer = signer
        self.srs = srs

    async def send(
        self, queue_id: str, message: Path, sender: str, recipients: list[str], domain: str
    ) -> dict[str, RemoteResult]:
        """One attempt for `recipients` (all in `domain`): through the domain's transport,
        else the relay host, else its MX hosts."""
        body = await asyncio.to_thread(message.read_bytes)
        body = await self.signed(queue_id, body)
        transport = await self.router.nexthop(domain)
        if transport is None:
            sender = await self.forwarding_sender(queue_id, sender)
        return await self.remote.deliver(
            sender=sender,
            recipients=recipients,
            message=body,
            nexthop=transport or self.relayhost,
            queue_id=queue_id,
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
