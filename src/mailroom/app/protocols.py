"""The protocol registry: which server answers a listener, looked up by the listener's
`protocol` in the config.

A protocol in the config (`config.Protocol`) with no entry here is one this version
does not have yet; a listener for it is refused when the host is built, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mailroom.app.managesieve import managesieve_services
from mailroom.app.services import Services, imap_services, pop3_services, smtp_services
from mailroom.config import Config, ConfigError, ConfigProblem, Listener, Protocol
from mailroom.delivery.dispatcher import Dispatcher
from mailroom.imap.server import ImapServer
from mailroom.managesieve.server import ManageSieveServer
from mailroom.net import SessionHandler
from mailroom.pop3.server import Pop3Server
from mailroom.smtp.server import SmtpServer

ServerFactory = Callable[[Listener], SessionHandler]
"""Makes the protocol server of one listener."""

ProtocolBuilder = Callable[[Services, Dispatcher], ServerFactory]
"""Called once per host and protocol: what it builds is shared by that protocol's
listeners."""


def smtp_servers(services: Services, delivery: Dispatcher) -> ServerFactory:
    return lambda listener: SmtpServer(listener, smtp_services(services, delivery))


def imap_servers(services: Services, delivery: Dispatcher | None = None) -> ServerFactory:
    return lambda listener: ImapServer(listener, imap_services(services))


def pop3_servers(services: Services, delivery: Dispatcher | None = None) -> ServerFactory:
    # One Pop3Services for every POP3 listener: they share its maildrop locks.
    pop3 = pop3_services(services)
    return lambda listener: Pop3Server(listener, pop3)


def managesieve_servers(services: Services, delivery: Dispatcher | None = None) -> ServerFactory:
    # One ManageSieveServices for every ManageSieve listener (the 4190 one and a
    # webmail-only one share the checker and the quota).
    managesieve = managesieve_services(services)
    return lambda listener: ManageSieveServer(listener, managesieve)


WORKER_PROTOCOLS: dict[Protocol, ProtocolBuilder] = {
    Protocol.IMAP: imap_servers,
    Protocol.POP3: pop3_servers,
    Protocol.SMTP: smtp_servers,
    Protocol.SUBMISSION: smtp_servers,
}
"""What worker processes serve (config `[server] workers`); the main process keeps the
rest (ManageSieve too: a few short sessions a day per member need no second core).
A worker's SMTP delivers to local accounts at once itself and commits what must wait
into the host's queue, whose owner (the main process) adopts it (app/worker_queue.py)."""


PROTOCOLS: dict[Protocol, ProtocolBuilder] = {
    Protocol.SMTP: smtp_servers,
    Protocol.SUBMISSION: smtp_servers,
    Protocol.IMAP: imap_servers,
    Protocol.POP3: pop3_servers,
    Protocol.MANAGESIEVE: managesieve_servers,
}


SERVED: frozenset[Protocol] = frozenset(PROTOCOLS) | {Protocol.WEB}
"""Every protocol a listener may have in this version: the session protocols and the web
application (app/web.py)."""


def protocol_builders(config: Config) -> dict[Protocol, ProtocolBuilder]:
    """The builder of each protocol the config's listeners use; ConfigError naming the
    first listener whose protocol this version does not have."""
    builders: dict[Protocol, ProtocolBuilder] = {}
    for position, listener in enumerate(config.listeners):
        if listener.protocol is Protocol.WEB:
            continue  # the web application, not a session protocol (app/web.py)
        builder = PROTOCOLS.get(listener.protocol)
        if builder is None:
            available = ", ".join(sorted(protocol.value for protocol in SERVED))
            problem = ConfigProblem(
                None,
                f"listeners[{position}].protocol",
                f"listener {listener.name!r}: protocol {listener.protocol.value!r} is not "
                f"built in this version yet (available: {available}); "
                "remove the listener or comment it out",
            )
            raise ConfigError(config.source or Path("mailroom.toml"), [problem])
        builders[listener.protocol] = builder
    return builders


def describe_listener(listener: Listener) -> str:
    protocol, tls = listener.protocol.value, listener.tls.value
    return f"{listener.name}: {protocol} on {listener.address} (tls {tls})"
