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
from mailroom.mailauth import DkimError, DkimSigner

log = logging.getLogger("mailroom.delivery")


class NexthopRouter(Protocol):
    async def nexthop(self, domain: str) -> str | None: ...


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
    ) -> None:
        self.remote = remote
        self.router = router
        self.relayhost = relayhost
        self.signer = signer

    async def nexthop(self, domain: str) -> str | None:
        """The domain's transport, else the relay host, else None (MX lookup)."""
        return await self.router.nexthop(domain) or self.relayhost

    async def send(
        self, queue_id: str, message: Path, sender: str, recipients: list[str], domain: str
    ) -> dict[str, RemoteResult]:
        """One attempt for `recipients` (all in `domain`)."""
        body = await asyncio.to_thread(message.read_bytes)
        body = await self.signed(queue_id, body)
        return await self.remote.deliver(
            sender=sender,
            recipients=recipients,
            message=body,
            nexthop=await self.nexthop(domain),
            queue_id=queue_id,
        )

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
