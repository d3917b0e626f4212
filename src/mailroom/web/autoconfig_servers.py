"""The servers a mail client is told about, derived from the listeners actually
configured: IMAP, POP3 and submission listeners with TLS, on the host's name
(`hostname` of the config), implicit TLS first (RFC 8314 §5.1 prefers it).

Plain-text listeners (`tls = "none"`) are never offered: they take passwords only from
their `plaintext_networks` (e.g. a webmail next door), not from members' own clients. The
`smtp` listener is the MX for other servers, not for clients, and ManageSieve has no
place in these formats. Pure: the three formats (autoconfig_*.py) render the same list,
so they never disagree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mailroom.config import Listener, TlsMode
from mailroom.config.model import Protocol


class Kind(StrEnum):
    IMAP = "imap"
    POP3 = "pop3"
    SUBMISSION = "submission"


KIND_OF = {Protocol.IMAP: Kind.IMAP, Protocol.POP3: Kind.POP3, Protocol.SUBMISSION: Kind.SUBMISSION}
PREFERENCE = {TlsMode.IMPLICIT: 0, TlsMode.STARTTLS: 1}


@dataclass(frozen=True)
class MailServer:
    kind: Kind
    hostname: str
    port: int
    implicit_tls: bool
    """True: TLS from the first byte; False: STARTTLS, required before a password."""

    @property
    def incoming(self) -> bool:
        return self.kind is not Kind.SUBMISSION


def client_servers(hostname: str, listeners: Iterable[Listener]) -> list[MailServer]:
    """What a member's client may use, best first within each kind (implicit TLS before
    STARTTLS), IMAP before POP3 before submission; one entry per distinct port."""
    found: dict[tuple[Kind, int], MailServer] = {}
    ranked = sorted(
        (
            listener
            for listener in listeners
            if listener.protocol in KIND_OF and listener.tls in PREFERENCE
        ),
        key=lambda listener: (PREFERENCE[listener.tls], listener.port),
    )
    for listener in ranked:
        kind = KIND_OF[listener.protocol]
        server = MailServer(kind, hostname, listener.port, listener.tls is TlsMode.IMPLICIT)
        found.setdefault((kind, listener.port), server)
    order = list(Kind)
    return sorted(found.values(), key=lambda server: order.index(server.kind))


def first(servers: Iterable[MailServer], *kinds: Kind) -> MailServer | None:
    """The best server of the first of `kinds` that has one."""
    listed = list(servers)
    for kind in kinds:
        for server in listed:
            if server.kind is kind:
                return server
    return None
