"""One IMAP connection: reads commands with the sans-I/O parser and runs them.

The session owns the connection-level state (RFC 9051 §3: not authenticated,
authenticated, selected, logout), the commands valid in any state (CAPABILITY, NOOP,
LOGOUT, ID, ENABLE), login (LOGIN, AUTHENTICATE, STARTTLS) and IDLE. The commands on
mailboxes and messages live in their own modules (mailbox_commands, fetch, search,
message_commands) and are found through `dispatch.COMMANDS`; they see the session only
as a `SessionContext`. Every reply to the client goes through `send`/`tagged_ok`, so
untagged updates from other sessions are written before a command's tagged OK. Once
the client asked for them with NOTIFY (notify.py), they come between commands too.

Bad commands are counted (`net.BadCommandLimit`, the listener's `max_bad_commands`),
as Dovecot counts them (CLIENT_MAX_BAD_COMMANDS): a BAD answer or a failed LOGIN or
AUTHENTICATE counts one, a command that completes OK starts the count again, and at
the limit the session says `* BYE Too many invalid IMAP commands.` and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from mailroom.auth import Credentials, ExternalCredentials, SaslFailure, UnknownMechanism
from mailroom.auth.sasl import MAX_LINE_LENGTH as SASL_MAX_LINE
from mailroom.auth.sasl import run_exchange
from mailroom.config import Listener
from mailroom.imap import responses
from mailroom.imap.capabilities import capabilities
from mailroom.imap.commands import Authenticate, Command, Compress, Enable, Id, Login
from mailroom.imap.dispatch import COMMANDS, allowed_in
from mailroom.imap.login_counts import LoginLimit
from mailroom.imap.notify import Notifier
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits
from mailroom.imap.responses import ImapError
from mailroom.imap.selected import SelectedView
from mailroom.imap.services import ImapServices, ImapSettings
from mailroom.imap.state import ANY, AUTHENTICATED, NOT_AUTHENTICATED, State
from mailroom.imap.wire import Atom, Value, continuation, response, status_response
from mailroom.net import (
    BadCommandLimit,
    Connection,
    ConnectionClosed,
    IdleTimeout,
    LineTooLong,
    SessionRegistry,
    may_send_password,
    offers_external,
    session_log_in,
)
from mailroom.store import EVENT_ORIGIN, Account

log = logging.getLogger("mailroom.imap")

MAX_LINE = 64 * 1024
"""Longest command line (Dovecot's imap_max_line_length); literals are not counted."""
LITERAL_IN_MEMORY = 1024 * 1024
"""APPEND messages up to this size are kept in memory; larger ones go to a file."""
IDLE_KEEPALIVE_SECONDS = 120
"""`* OK Still here` during IDLE, so NAT boxes keep the connection (Dovecot: 2 min)."""
READ_CHUNK = 256 * 1024


class ImapSession:
    """The state of one client connection."""

    def __init__(
        self,
        connection: Connection,
        services: ImapServices,
        listener: Listener,
        registry: SessionRegistry[ImapSession],
        logins: LoginLimit,
    ) -> None:
        self.services = services
        self.listener = listener
        self.registry = registry
        self.logins = logins
        self.connection = connection
        self.state = State.NOT_AUTHENTICATED
        self.parser = CommandParser(
            ParserLimits(max_append_literal=services.settings.max_message_size)
        )
        self.bad_commands = BadCommandLimit(listener.max_bad_commands)
        self.too_many_bad = False
        """The session ends because of `bad_commands`."""
        self.login_name: str | None = None
        self.account: Account | None = None
        self.selected: SelectedView | None = None
        self.enabled: set[str] = set()
        self.counted = False
        self.spooled: list[Path] = []
        """Files holding APPEND messages of the command being read (removed after it)."""
        self.separator = services.settings.hierarchy_separator
        self.waiting = False
        """Between commands or in IDLE: nothing is lost by ending the session now."""
        self.notify = Notifier()
        """NOTIFY (RFC 5465): the events the client asked for."""

    # -- what the client may do ------------------------------------------------------------

    @property
    def settings(self) -> ImapSettings:
        return self.services.settings

    @property
    def secure(self) -> bool:
        return may_send_password(self.connection, self.listener)

    @property
    def utf8(self) -> bool:
        return "UTF8=ACCEPT" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled or "QRESYNC" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    def enable_condstore(self) -> None:
        # RFC 7162 §3.1: the first CONDSTORE-enabling command with a mailbox selected
        # gets `* OK [HIGHESTMODSEQ n]` for it (as Dovecot: before that command's own
        # responses). SELECT (CONDSTORE) reports it itself, its mailbox not yet selected.
        if not self.condstore and self.selected is not None:
            code: list[Value] = [Atom("HIGHESTMODSEQ"), self.selected.known_modseq]
            self.write(status_response(None, "OK", "Highest", code))
        self.enabled.add("CONDSTORE")

    def capabilities(self) -> list[str]:
        return capabilities(
            self.state,
            starttls=self.services.tls is not None and self.connection.tls is None,
            secure=self.secure,
            append_limit=self.settings.max_message_size,
            external=offers_external(self.connection),
        )

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        EVENT_ORIGIN.set(self)  # this task's folder-list changes are this session's
        try:
            code = [Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities())]
            await self.send(status_response(None, "OK", "Mailroom ready.", code))
            while self.state is not State.LOGOUT and not self.registry.stopped:
                self.waiting = True
                command = await self.read_command()
                self.waiting = False
                if command is not None:
                    await self.execute(command)
            if self.registry.stopped:
                await self.send(SHUTDOWN_BYE)
            if self.too_many_bad:
                reason = "too many invalid commands"
            elif self.state is State.LOGOUT:
                reason = "logged out"
            else:
                reason = "server shutting down"
        except IdleTimeout:
            reason = "disconnected for inactivity"
            with contextlib.suppress(OSError, ConnectionClosed):
                await self.send(b"* BYE Disconnected for inactivity.\r\n")
        except ConnectionClosed:
            reason = "connection closed by the client"
        finally:
            await self.notify.close()
            self._drop_spooled()  # a connection lost in the middle of an APPEND
            await self.leave_selected()
            if self.counted and self.login_name is not None:
                self.logins.ended(self.login_name, self.connection.peer_ip)
        if self.login_name is not None:
            log.info("%s: imap(%s): %s", self.connection.peer, self.login_name, reason)

    def stop_when_idle(self) -> None:
        """The server is stopping (`SessionRegistry.stop_all`)."""
        if self.waiting:
            self.connection.write(SHUTDOWN_BYE)
            self.connection.close()

    async def send(self, data: bytes) -> None:
        self.connection.write(data)
        await self.connection.drain()

    def write(self, data: bytes) -> None:
        """Queue output; callers writing much await `drain` now and then."""
        self.connection.write(data)

    async def drain(self) -> None:
        await self.connection.drain()

    async def tagged_ok(self, command: Command, text: str, code: object = None) -> None:
        await self.flush_updates(command)
        await self.send(status_response(command.tag, "OK", text, code))  # type: ignore[arg-type]

    async def read_line(self) -> bytes:
        line = await self.connection.read_line(MAX_LINE + 2)
        if line.endswith(b"\r\n"):
            return line[:-2]
        if line.endswith(b"\n"):
            return line[:-1]
        raise ConnectionClosed()

    async def read_command(self) -> Command | None:
        """The next command, or None when the client's input was answered with BAD."""
        try:
            first = await self._next_line()
            step = self.parser.feed_line(first)
            while isinstance(step, NeedLiteral):
                if step.message and self.state is State.NOT_AUTHENTICATED:
                    # No message uploads before login (APPEND needs it anyway): a
                    # synchronizing literal is never asked for, a LITERAL+ one is read
                    # and thrown away.
                    if not step.synchronizing:
                        await self._discard(step.size)
                    self.parser.reset()
                    tag = first.split(b" ", 1)[0].decode("ascii", "replace") or "*"
                    await self.send(status_response(tag, "BAD", "Please login first."))
                    await self._count_bad()
                    return None
                if step.synchronizing:
                    await self.send(continuation("OK"))
                if step.message:
                    self.parser.feed_literal(await self._read_message_literal(step.size))
                else:
                    self.parser.feed_literal(await self.connection.read_exactly(step.size))
                step = self.parser.feed_line(await self.read_line())
        except LineTooLong:
            self.parser.reset()
            await self.send(b"* BAD Command line too long.\r\n")
            await self._count_bad()
            return None
        if isinstance(step, CommandError):
            self.parser.reset()
            self._drop_spooled()
            await self._refuse(step)
            return None
        return step

    async def _next_line(self) -> bytes:
        """The first line of the next command; meanwhile, NOTIFY's events (RFC 5465)."""
        if not self.notify.active:
            return await self.read_line()
        done = asyncio.ensure_future(self.read_line())
        try:
            await self.notify.wait(self, done, functools.partial(self.flush_updates, None))
        finally:
            if not done.done():
                done.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, IdleTimeout):
                    await done
        return done.result()

    async def _discard(self, size: int) -> None:
        remaining = size
        with self.connection.minimum_rate():  # [limits] min_data_rate
            while remaining:
                remaining -= len(await self.connection.read_some(min(remaining, READ_CHUNK)))

    def _drop_spooled(self) -> None:
        """Remove the files of APPEND messages read for the current command."""
        for path in self.spooled:
            with contextlib.suppress(OSError):
                path.unlink()
        self.spooled.clear()

    async def _refuse(self, error: CommandError) -> None:
        tag = error.tag or "*"
        if error.code == "TOOBIG" and error.tag:
            await self.send(status_response(tag, "NO", error.text, Atom("TOOBIG")))
        else:
            await self.send(status_response(tag, "BAD", error.text))
        if error.fatal:
            await self.send(b"* BYE Too long argument.\r\n")
            self.state = State.LOGOUT
        elif error.code != "TOOBIG" or not error.tag:
            await self._count_bad()

    async def _count_bad(self) -> None:
        """One more bad command; at the listener's limit, the session ends (Dovecot)."""
        if self.bad_commands.bad():
            await self.send(TOO_MANY_BAD)
            self.too_many_bad = True
            self.state = State.LOGOUT

    async def _read_message_literal(self, size: int) -> bytes | Path:
        """An APPEND message: in memory when small, else streamed into a file that is
        removed once the command is done (never held twice in memory)."""
        if size <= LITERAL_IN_MEMORY:
            return await self.connection.read_exactly(size)
        directory = self.account.root / "tmp" if self.account is not None else None
        if directory is not None:
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="mailroom-append.", dir=directory)
        path = Path(name)
        self.spooled.append(path)
        with os.fdopen(handle, "wb") as file, self.connection.minimum_rate():
            remaining = size
            while remaining:
                chunk = await self.connection.read_some(min(remaining, READ_CHUNK))
                await asyncio.to_thread(file.write, chunk)
                remaining -= len(chunk)
        return path

    async def execute(self, command: Command) -> None:
        entry = ALL_COMMANDS.get(command.name)
        try:
            if entry is None:
                raise responses.bad("Unknown command.")
            handler, states = entry
            if self.state not in states:
                raise allowed_in(states, self.state)
            await handler(self, command)
            self.bad_commands.good()
        except ImapError as error:
            await self.flush_updates(command)
            await self.send(error.line(command.tag))
            if error.status == "BAD" or command.name in LOGIN_COMMANDS:
                await self._count_bad()
        except (ConnectionClosed, IdleTimeout):
            raise
        except Exception:
            log.exception("%s: %s failed", self.connection.peer, command.name)
            await self.send(responses.SERVER_BUG.line(command.tag))
        finally:
            self._drop_spooled()

    async def flush_updates(self, command: Command | None) -> None:
        """Send what other sessions and deliveries changed in the selected mailbox (and
        what NOTIFY asked for of the others)."""
        await self.notify.flush(self)
        view = self.selected
        if view is None:
            return
        if view.mailbox.deleted:
            # Another session deleted or renamed it (Dovecot 2.3's words and reaction).
            self.write(b"* BYE Selected mailbox was deleted, have to disconnect.\r\n")
            self.state = State.LOGOUT
            await self.connection.drain()
            self.connection.close()
            raise ConnectionClosed()
        if self.notify.holds(command):
            return
        # RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH by number.
        expunges = command is None or command.uid or command.name not in HOLD_EXPUNGES
        last = view.uids[-1] if view.uids else 0
        data = await view.updates(
            expunges=self.notify.expunges(expunges),
            qresync=self.qresync,
            condstore=self.condstore,
            rev2="IMAP4REV2" in self.enabled,
            flags=self.notify.flag_changes,
        )
        if data:
            self.write(data)
            await self.notify.after_updates(self, view, last)

    async def leave_selected(self) -> None:
        view, self.selected = self.selected, None
        if view is not None:
            await view.mailbox.close()
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    # -- any state -------------------------------------------------------------------------

    async def capability(self, command: Command) -> None:
        self.write(response(None, Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities())))
        await self.tagged_ok(command, "Capability completed.")

    async def noop(self, command: Command) -> None:
        await self.tagged_ok(command, "NOOP completed.")

    async def logout(self, command: Command) -> None:
        self.write(b"* BYE Logging out\r\n")
        await self.send(status_response(command.tag, "OK", "Logout completed."))
        self.state = State.LOGOUT

    async def id(self, command: Command) -> None:
        assert isinstance(command.args, Id)
        if command.args.parameters:
            fields = " ".join(f"{k}={v!r}" for k, v in command.args.parameters[:10])
            log.info("%s: ID %s", self.connection.peer, fields[:300])
        self.write(response(None, Atom("ID"), ["name", "Mailroom"]))
        await self.tagged_ok(command, "ID completed.")

    async def enable(self, command: Command) -> None:
        """RFC 5161. CONDSTORE, QRESYNC (which implies CONDSTORE), UTF8=ACCEPT, IMAP4rev2."""
        assert isinstance(command.args, Enable)
        newly = []
        for name in command.args.capabilities:
            if name in ENABLEABLE and name not in self.enabled:
                self.enabled.add(name)
                newly.append(name)
        if "IMAP4REV2" in self.enabled and self.selected is not None:
            self.selected.show_recent = False  # RFC 9051 has no \\Recent
        self.write(response(None, Atom("ENABLED"), *(Atom(name) for name in newly)))
        await self.tagged_ok(command, "Enabled.")

    async def compress(self, command: Command) -> None:
        """RFC 4978: DEFLATE from the byte after this command's OK."""
        assert isinstance(command.args, Compress)
        if command.args.mechanism != "DEFLATE":
            raise responses.bad("Unknown compression mechanism.")
        if self.connection.compressed:
            raise responses.no("Compression already active.", "COMPRESSIONACTIVE")
        await self.send(status_response(command.tag, "OK", "DEFLATE active"))
        self.connection.start_compression()

    # -- not authenticated ----------------------------------------------------------------

    async def starttls(self, command: Command) -> None:
        tls = self.services.tls
        if tls is None or self.connection.tls is not None:
            raise responses.bad("TLS is not available." if tls is None else "TLS is already on.")
        await self.send(status_response(command.tag, "OK", "Begin TLS negotiation now."))
        await self.connection.start_tls(tls.for_listener(self.listener.name))
        self.parser.reset()

    async def login(self, command: Command) -> None:
        assert isinstance(command.args, Login)
        if not self.secure:
            raise responses.PLAINTEXT_DISALLOWED
        credentials = Credentials(
            authzid="", authcid=command.args.user, password=command.args.password
        )
        await self.authenticate_with(command, credentials)

    async def authenticate(self, command: Command) -> None:
        assert isinstance(command.args, Authenticate)
        if not self.secure:
            raise responses.PLAINTEXT_DISALLOWED
        initial = command.args.initial_response
        try:
            result = await run_exchange(
                command.args.mechanism,
                initial.encode("ascii") if initial is not None else None,
                send_challenge=self._send_challenge,
                read_response=self._read_sasl_response,
            )
        except UnknownMechanism:
            raise responses.no("Unsupported authentication mechanism.") from None
        if isinstance(result, SaslFailure):
            if result.cancelled:
                raise responses.bad("Authentication aborted by client.")
            if result.too_long:
                raise responses.bad("Authentication response too long.")
            raise responses.AUTHENTICATION_FAILED
        await self.authenticate_with(command, result)

    async def _send_challenge(self, challenge: bytes) -> None:
        """RFC 9051 §6.2.2: `+ <base64>`."""
        await self.send(continuation(challenge.decode("ascii")))

    async def _read_sasl_response(self) -> bytes | None:
        try:
            line = await self.connection.read_line(SASL_MAX_LINE + 2)
        except LineTooLong:
            return None
        return line.rstrip(b"\r\n")

    async def authenticate_with(
        self, command: Command, credentials: Credentials | ExternalCredentials
    ) -> None:
        result = await session_log_in(
            self.services, self.connection, credentials, protocol="imap", secure=self.secure
        )
        if result.temporary:
            raise responses.AUTHENTICATION_UNAVAILABLE
        if not result.ok or result.account is None:
            raise responses.AUTHENTICATION_FAILED
        if not await self.logins.started(result.account, self.connection.peer_ip):
            raise responses.no("Maximum number of connections from user+IP exceeded.", "LIMIT")
        self.counted = True
        self.login_name = result.account
        try:
            self.account = await self.services.open_account(result.account)
        except Exception:
            log.exception("%s: cannot open the mailbox of %s", self.connection.peer, result.account)
            self.logins.ended(result.account, self.connection.peer_ip)
            self.counted = False
            self.login_name = None
            raise responses.SERVER_BUG from None
        self.state = State.AUTHENTICATED
        log.info(
            "%s: imap(%s): logged in on %s (%s)",
            self.connection.peer,
            result.account,
            self.listener.name,
            self.connection.tls.version if self.connection.tls else "no TLS",
        )
        self.connection.idle_timeout = self.settings.authenticated_timeout_seconds
        code = [Atom("CAPABILITY"), *(Atom(c) for c in self.capabilities())]
        await self.send(status_response(command.tag, "OK", "Logged in", code))

    # -- IDLE (RFC 2177) -------------------------------------------------------------------

    async def idle(self, command: Command) -> None:
        await self.flush_updates(None)
        await self.send(continuation("idling"))
        view = self.selected
        done = asyncio.ensure_future(self.read_line())
        self.waiting = True
        try:
            if self.notify.spec is not None:
                # RFC 5465 §4: in IDLE, exactly the events NOTIFY asked for.
                flush = functools.partial(self.flush_updates, None)
                await self.notify.wait(self, done, flush, keepalive=IDLE_KEEPALIVE_SECONDS)
                line = done.result()
            elif view is None:
                line = await self._idle_without_mailbox(done)
            else:
                async with view.mailbox.watch() as waiter:
                    # Changes that came before the watch began are sent first.
                    await self.flush_updates(None)
                    await self.connection.drain()
                    wake = asyncio.ensure_future(waiter.wait())
                    try:
                        while not done.done():
                            finished, _ = await asyncio.wait(
                                {done, wake},
                                timeout=IDLE_KEEPALIVE_SECONDS,
                                return_when=asyncio.FIRST_COMPLETED,
                            )
                            if not finished:
                                await self.send(b"* OK Still here\r\n")
                            elif wake in finished:
                                await self.flush_updates(None)
                                await self.connection.drain()
                                wake = asyncio.ensure_future(waiter.wait())
                    finally:
                        wake.cancel()
                line = done.result()
        finally:
            self.waiting = False
            if not done.done():
                done.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, IdleTimeout):
                    await done
        if line.upper() != b"DONE":
            raise responses.bad("Expected DONE.")
        await self.tagged_ok(command, "Idle completed.")

    async def notify_command(self, command: Command) -> None:
        await self.notify.command(self, command)

    async def _idle_without_mailbox(self, done: asyncio.Future[bytes]) -> bytes:
        while True:
            finished, _ = await asyncio.wait({done}, timeout=IDLE_KEEPALIVE_SECONDS)
            if finished:
                return done.result()
            await self.send(b"* OK Still here\r\n")


SessionMethod = Callable[[ImapSession, Command], Awaitable[None]]
SESSION_COMMANDS: dict[str, tuple[SessionMethod, frozenset[State]]] = {
    "CAPABILITY": (ImapSession.capability, ANY),
    "NOOP": (ImapSession.noop, ANY),
    "LOGOUT": (ImapSession.logout, ANY),
    "ID": (ImapSession.id, ANY),
    "STARTTLS": (ImapSession.starttls, NOT_AUTHENTICATED),
    "LOGIN": (ImapSession.login, NOT_AUTHENTICATED),
    "AUTHENTICATE": (ImapSession.authenticate, NOT_AUTHENTICATED),
    "ENABLE": (ImapSession.enable, AUTHENTICATED),
    "IDLE": (ImapSession.idle, AUTHENTICATED),
    "COMPRESS": (ImapSession.compress, AUTHENTICATED),
    "NOTIFY": (ImapSession.notify_command, AUTHENTICATED),
}
"""The commands on the connection itself; the others are in `dispatch.COMMANDS`."""
ALL_COMMANDS: dict[str, tuple[SessionMethod, frozenset[State]]] = {
    **SESSION_COMMANDS,
    **COMMANDS,
}
LOGIN_COMMANDS = frozenset({"LOGIN", "AUTHENTICATE"})
"""Their failures count as bad commands, whatever the answer (Dovecot)."""
SHUTDOWN_BYE = b"* BYE Server shutting down.\r\n"
TOO_MANY_BAD = b"* BYE Too many invalid IMAP commands.\r\n"
ENABLEABLE = frozenset({"CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"})
HOLD_EXPUNGES = frozenset({"FETCH", "STORE", "SEARCH"})
