"""smtp's `InboundCheck` seam implemented over `mailroom.mailauth.inbound` (smtp may not
import mailauth): the session's facts in, the verdict's header, reply and envelope
notes out. Built only when `[inbound_authentication] enabled` is set."""

from __future__ import annotations

from mailroom.config import Config
from mailroom.delivery.local import QUARANTINE_NOTE
from mailroom.dns import Resolver
from mailroom.mailauth.arc import verify_arc
from mailroom.mailauth.inbound import Action, Arrival, InboundAuthentication
from mailroom.smtp.policy import InboundMessage, InboundVerdict
from mailroom.smtp.replies import SmtpReply


class InboundAuthenticationCheck:
    """SPF, DKIM, ARC and DMARC on port 25, as `[inbound_authentication]` says."""

    def __init__(self, authentication: InboundAuthentication) -> None:
        self.authentication = authentication

    async def check(self, message: InboundMessage) -> InboundVerdict:
        verdict = await self.authentication.check(
            message.path,
            Arrival(
                client_ip=message.client_ip,
                helo=message.helo,
                sender=message.sender,
                recipients=message.recipients,
                queue_id=message.queue_id,
            ),
        )
        refusal = None
        if verdict.reply is not None:
            code, enhanced, text = verdict.reply
            refusal = SmtpReply(code, enhanced, text)
        notes: tuple[tuple[str, str], ...] = ()
        if verdict.action is Action.QUARANTINE:
            notes = ((QUARANTINE_NOTE, self.authentication.config.junk_folder),)
        return InboundVerdict(
            head=verdict.rewrite.head,
            replaced=verdict.rewrite.replaced,
            refusal=refusal,
            notes=notes,
        )


def host_resolver(config: Config) -> Resolver:
    """The host's one resolver, asking the `[delivery]` DNS servers."""
    return Resolver(config.delivery.nameservers, config.delivery.dns_port)


def inbound_check(config: Config, resolver: Resolver) -> InboundAuthenticationCheck | None:
    """The check of `config`, or None when it is off."""
    settings = config.inbound_authentication
    if not settings.enabled:
        return None
    return InboundAuthenticationCheck(
        InboundAuthentication(settings, resolver, config.hostname, arc=verify_arc)
    )
