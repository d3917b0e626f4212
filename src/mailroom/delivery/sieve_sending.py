"""Mail a Sieve run sends: redirects (RFC 5228 §4.2) and vacation replies (RFC 5230),
each queued like any message, so it leaves through the queue's retries and bounces.

Redirect:
- the message as received, unchanged but for a `Delivered-To:` trace field naming the
  recipient it was delivered for (and the header editheader left, if the action carries
  one): if the redirect ever comes back to this recipient, local delivery's loop check
  refuses it ("5.4.6 Delivered-To loop") instead of sending it round again;
- from an SRS sender (`srs.forward`, config `delivery.srs`), so the receiver's SPF
  check of the original sender's domain passes; the null sender stays null;
- to the redirect address's final recipients (routing expands it: the queue holds
  final recipients only, as for bounces);
- never back to the account itself: a redirect whose address routes to the same
  account is not sent (the caller keeps the message instead).
Vacation: the reply (built by `mailroom.sieve.vacation_message.build_reply`, which
writes `Auto-Submitted: auto-replied`, RFC 3834 §5), from the null sender (RFC 5230
§5.1: no bounce can come back) to the envelope sender.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from mailroom.delivery.sieve_stores import MessageFile, header_section
from mailroom.delivery.srs import SrsRewriter
from mailroom.queue import Envelope, EnvelopeRecipient, MailParams, MailQueue, QueueError
from mailroom.routing import DeliveryKind, DirectoryUnavailable, Expansion
from mailroom.sieve.actions import Redirect, VacationReply

log = logging.getLogger("mailroom.delivery")

CHUNK = 64 * 1024


class ExpandingRouter(Protocol):
    """What sending asks routing (mailroom.routing.Router implements it)."""

    async def expand(self, address: str) -> Expansion: ...


class RedirectToSelf(Exception):
    """The redirect address routes back to the account being delivered to."""


class SieveMail:
    """Queues the mail of Sieve runs."""

    def __init__(
        self,
        queue: MailQueue,
        *,
        hostname: str,
        router: ExpandingRouter | None = None,
        srs: SrsRewriter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.hostname = hostname
        self.router = router
        self.srs = srs
        self.clock = clock

    async def redirect(
        self,
        redirect: Redirect,
        message: MessageFile,
        *,
        sender: str,
        account: str,
        original: str,
    ) -> str:
        """Queue the redirect of `message` (delivered for `original`, of `account`);
        its queue id. RedirectToSelf if it would come back to the account; QueueError
        or OSError if it could not be queued."""
        recipients = await self._final_recipients(redirect.address, own_account=account)
        envelope_sender = self.srs.forward(sender) if self.srs is not None and sender else sender
        envelope = Envelope(
            sender=envelope_sender,
            recipients=recipients,
            received_at=self.clock(),
            params=MailParams(smtputf8=_needs_smtputf8(envelope_sender, recipients)),
        )
        trace = f"Delivered-To: {original}\r\n".encode("utf-8", "surrogateescape")
        async with await self.queue.receive(envelope) as writer:
            await writer.write(trace)
            if redirect.header is None:
                offset, head = 0, b""
            else:
                offset, head = message.body_start, header_section(redirect.header)
            await writer.write(head)
            with message.opened(offset) as file:
                while chunk := await asyncio.to_thread(file.read, CHUNK):
                    await writer.write(chunk)
            return await writer.commit()

    async def vacation(self, reply: VacationReply, text: bytes) -> str | None:
        """Queue a vacation reply (`text`, the whole message) to `reply.sender`; its queue
        id, or None if it could not be queued (logged: an auto-reply is not worth a retry
        of the delivery)."""
        recipients = await self._final_recipients(reply.sender, own_account=None)
        envelope = Envelope(
            sender="",
            recipients=recipients,
            received_at=self.clock(),
            params=MailParams(smtputf8=_needs_smtputf8("", recipients)),
        )
        try:
            async with await self.queue.receive(envelope) as writer:
                await writer.write(text)
                return await writer.commit()
        except (QueueError, OSError) as error:
            log.error("vacation reply to <%s> not queued: %s", reply.sender, error)
            return None

    async def _final_recipients(
        self, address: str, *, own_account: str | None
    ) -> tuple[EnvelopeRecipient, ...]:
        """Where mail to `address` goes: routing's final recipients (the address itself
        when routing cannot say). RedirectToSelf if one is `own_account`."""
        if self.router is None:
            return (EnvelopeRecipient(address=address, original=address),)
        try:
            expansion = await self.router.expand(address)
        except DirectoryUnavailable:
            return (EnvelopeRecipient(address=address, original=address),)
        found: dict[str, EnvelopeRecipient] = {}
        for delivery in expansion.deliveries:
            local = delivery.kind is DeliveryKind.LOCAL
            if (
                local
                and own_account is not None
                and (delivery.account or delivery.recipient).lower() == own_account.lower()
            ):
                raise RedirectToSelf(address)
            found.setdefault(
                delivery.recipient,
                EnvelopeRecipient(
                    address=delivery.recipient,
                    original=address,
                    account=delivery.account if local else None,
                    detail=delivery.detail if local else None,
                ),
            )
        return tuple(found.values()) or (EnvelopeRecipient(address=address, original=address),)


def _needs_smtputf8(sender: str, recipients: tuple[EnvelopeRecipient, ...]) -> bool:
    return not (sender.isascii() and all(r.address.isascii() for r in recipients))
