"""One ManageSieve connection (RFC 5804): reads commands with the sans-I/O reader and
answers them.

The session owns the connection's state (not authenticated, authenticated, logout),
the greeting and CAPABILITY, STARTTLS, AUTHENTICATE (through the one `Authenticator`,
with PLAIN and LOGIN, master users and the throttle as on IMAP), NOOP, UNAUTHENTICATE
and LOGOUT; the commands on scripts are script_commands.py's. Refusals are counted as
IMAP counts them (`net.BadCommandLimit`): a command not understood or not allowed, or
a failed login, counts one; a command that works starts the count again; at the
listener's `max_bad_commands` the session says BYE. Bad input gets NO or BYE with a
reason, never a traceback.
"""

from __future__ import annotations

import contextlib
import enum
import logging

from mailroom.auth import (
    Credentials,
    ExternalCredentials,
    SaslFailure,
    UnknownMechanism,
    mechanisms,
    run_exchange,
)
from mailroom.auth.sasl import MAX_LINE_LENGTH as SASL_MAX_LINE
from mailroom.config import Listener, TlsMode
from mailroom.managesieve import responses
from mailroom.managesieve.commands import (
    Authenticate,
    Capability,
    Command,
    Logout,
    Noop,
    StartTls,
    Unauthenticate,
)
from mailroom.managesieve.reader import (
    MAX_LINE,
    CommandError,
    CommandReader,
    ReaderLimits,
    SkipLiteral,
    sasl_response,
)
from mailroom.managesieve.responses import (
    ManageSieveError,
    Reply,
    capability,
    status,
    string,
)
from mailroom.managesieve.script_commands import SCRIPT_COMMANDS, run_script_command
from mailroom.managesieve.services import ManageSieveServices
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
from mailroom.store import SieveScripts
from mailroom.wire.lexer import NeedLiteral
from mailroom.wire.tokens import GrammarError

log = logging.getLogger("mailroom.managesieve")

SKIP_CHUNK = 256 * 1024
"""Octets of a refused literal read (and dropped) at a time."""


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    LOGOUT = "logout"


class _BadSaslResponse(Exception):
    """The client's answer to a challenge was no string."""


class ManageSieveSession:
    """The state of one client connection."""

    def __init__(
        self,
        connection: Connection,
        listener: Listener,
        services: ManageSieveServices,
        registry: SessionRegistry[ManageSieveSession],
    ) -> None:
        self.connection = connection
        self.listener = listener
        self.services = services
        self.registry = registry
        self.state = State.NOT_AUTHENTICATED
        self.reader = CommandReader(ReaderLimits(max_script_size=services.settings.max_script_size))
        self.bad_commands = BadCommandLimit(listener.max_bad_commands)
        self.login_name: str | None = None
        self.scripts: SieveScripts | None = None
        self.waiting = False
        """Between commands: nothing is lost by ending the session now."""

    @property
    def secure(self) -> bool:
        return may_send_password(self.connection, self.listener)

    @property
    def tls_offered(self) -> bool:
        """STARTTLS can be used: the listener offers it (`tls = "none"` does not, as
        the legacy 2001 listener did not) and TLS is not on yet."""
        return (
            self.services.tls is not None
            and self.listener.tls is TlsMode.STARTTLS
            and self.connection.tls is None
        )

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        reason = "connection closed by the client"
        try:
            await self.send(self.capabilities() + status("OK", "Mailroom ready."))
            while self.state is not State.LOGOUT and not self.registry.stopped:
                self.waiting = True
                command = await self.read_command()
                self.waiting = False
                if command is not None:
                    await self.execute(command)
            if self.state is State.LOGOUT:
                reason = "logged out"
            else:
                reason = "server shutting down"
                await self.send(responses.SHUTTING_DOWN.line())
        except IdleTimeout:
            reason = "disconnected for inactivity"
            with contextlib.suppress(OSError, ConnectionClosed):
                await self.send(responses.INACTIVITY.line())
        except ConnectionClosed:
            pass
        if self.login_name is not None:
            log.info("%s: managesieve(%s): %s", self.connection.peer, self.login_name, reason)

    def stop_when_idle(self) -> None:
        """The server is stopping (`SessionRegistry.stop_all`)."""
        if self.waiting:
            self.connection.write(responses.SHUTTING_DOWN.line())
            self.connection.close()

    async def send(self, data: bytes) -> None:
        self.connection.write(data)
        await self.connection.drain()

    async def read_line(self, limit: int = MAX_LINE) -> bytes:
        line = await self.connection.read_line(limit + 2)
        if line.endswith(b"\r\n"):
            return line[:-2]
        if line.endswith(b"\n"):
            return line[:-1]
        raise ConnectionClosed()  # input ended in the middle of a line

    async def read_command(self) -> Command | None:
        """The next command, or None when the client's input was refused (answered)."""
        try:
            step = self.reader.feed_line(await self.read_line())
            while isinstance(step, NeedLiteral | SkipLiteral):
                if isinstance(step, NeedLiteral):
                    self.reader.feed_literal(await self.connection.read_exactly(step.size))
                else:
                    await self._skip(step.size)
                    self.reader.literal_skipped()
                step = self.reader.feed_line(await self.read_line())
        except LineTooLong:
            self.reader.reset()
            await self.refuse(responses.LINE_TOO_LONG)
            return None
        if isinstance(step, CommandError):
            await self._refuse_input(step)
            return None
        return step

    async def _skip(self, size: int) -> None:
        remaining = size
        while remaining:
            remaining -= len(await self.connection.read_some(min(remaining, SKIP_CHUNK)))

    async def _refuse_input(self, error: CommandError) -> None:
        # A script over the size limit is a quota answer (the client may go on); the
        # rest is input the session did not understand.
        reply = Reply("NO", error.text, error.code, bad_command=error.code is None)
        if error.fatal:
            await self.send(reply.line() + responses.TOO_LARGE_TO_SKIP.line())
            self.state = State.LOGOUT
            return
        await self.refuse(reply)

    async def refuse(self, reply: Reply) -> None:
        """The one place a refusal is answered and counted."""
        if not reply.bad_command:
            self.bad_commands.good()
            await self.send(reply.line())
        elif self.bad_commands.bad():
            await self.send(reply.line() + responses.TOO_MANY_BAD.line())
            self.state = State.LOGOUT
        else:
            await self.send(reply.line())

    async def execute(self, command: Command) -> None:
        try:
            answer = await self._answer(command)
        except ManageSieveError as error:
            await self.refuse(error.reply)
            return
        except (ConnectionClosed, IdleTimeout):
            raise
        except Exception:
            log.exception("%s: managesieve %s failed", self.connection.peer, type(command).__name__)
            await self.refuse(responses.INTERNAL_ERROR)
            return
        self.bad_commands.good()
        if answer:
            await self.send(answer)

    async def _answer(self, command: Command) -> bytes:
        """The answer to `command`; ManageSieveError for a refusal. Commands that answer
        on their own (STARTTLS, AUTHENTICATE) return b""."""
        match command:
            case Capability():
                return self.capabilities() + status("OK", "Capability completed.")
            case Noop(tag=None):
                return status("OK", "NOOP completed.")
            case Noop(tag=str(tag)):
                return status("OK", "Done", responses.TAG, tag)  # RFC 5804 §2.13
            case Logout():
                self.state = State.LOGOUT
                return status("OK", "Logout completed.")
            case StartTls() | Authenticate() if self.state is State.AUTHENTICATED:
                raise ManageSieveError(responses.ALREADY_AUTHENTICATED)
            case StartTls():
                await self._starttls()
                return b""
            case Authenticate():
                await self._authenticate(command)
                return b""
            case Unauthenticate() if self.state is State.AUTHENTICATED:
                self._unauthenticate()
                return status("OK", "Unauthenticate completed.")
            case _ if isinstance(command, SCRIPT_COMMANDS) and self.scripts is not None:
                return await run_script_command(command, self.scripts, self.services.check_script)
        raise ManageSieveError(responses.AUTHENTICATE_FIRST)

    # -- capabilities ---------------------------------------------------------------------

    def capabilities(self) -> bytes:
        """RFC 5804 §1.7. SASL lists only the mechanisms this connection may use (none
        before TLS, as IMAP's LOGINDISABLED: `"SASL" ""`); STARTTLS while it can be
        used."""
        settings = self.services.settings
        lines = [
            capability("IMPLEMENTATION", "Mailroom"),
            capability(
                "SASL",
                " ".join(mechanisms(self.secure, external=offers_external(self.connection))),
            ),
            capability("SIEVE", " ".join(settings.extensions)),
        ]
        if self.tls_offered and self.state is State.NOT_AUTHENTICATED:
            lines.append(capability("STARTTLS"))
        lines.append(capability("MAXREDIRECTS", str(settings.max_redirects)))
        if self.login_name is not None:
            lines.append(capability("OWNER", self.login_name))
        lines += [capability("UNAUTHENTICATE"), capability("VERSION", "1.0")]
        return b"".join(lines)

    # -- not authenticated ----------------------------------------------------------------

    async def _starttls(self) -> None:
        tls = self.services.tls
        if self.connection.tls is not None:
            raise ManageSieveError(responses.TLS_ACTIVE)
        if tls is None or not self.tls_offered:
            raise ManageSieveError(responses.TLS_UNAVAILABLE)
        await self.send(status("OK", "Begin TLS negotiation now."))
        await self.connection.start_tls(tls.for_listener(self.listener.name))
        self.reader.reset()
        # RFC 5804 §2.2: the capabilities again, as they are now, then OK.
        await self.send(self.capabilities() + status("OK", "TLS negotiation successful."))

    async def _authenticate(self, command: Authenticate) -> None:
        """RFC 5804 §2.1: the exchange is `mailroom.auth`'s; ManageSieve frames it
        (challenges and responses are strings)."""
        if command.mechanism.upper() not in mechanisms(True, external=True):
            raise ManageSieveError(responses.UNSUPPORTED_MECHANISM)
        if not self.secure:
            raise ManageSieveError(responses.PLAINTEXT_DISALLOWED)
        try:
            result = await run_exchange(
                command.mechanism,
                command.initial_response,
                send_challenge=self._send_challenge,
                read_response=self._read_sasl_response,
            )
        except UnknownMechanism:
            raise ManageSieveError(responses.UNSUPPORTED_MECHANISM) from None
        except _BadSaslResponse:
            raise ManageSieveError(responses.INVALID_AUTHENTICATION) from None
        if isinstance(result, SaslFailure):
            if result.cancelled:
                raise ManageSieveError(responses.AUTHENTICATION_ABORTED)
            if result.too_long:
                raise ManageSieveError(responses.AUTHENTICATION_TOO_LONG)
            raise ManageSieveError(responses.AUTHENTICATION_FAILED)
        await self._log_in(result)

    async def _send_challenge(self, encoded: bytes) -> None:
        await self.send(string(encoded) + b"\r\n")

    async def _read_sasl_response(self) -> bytes | None:
        """The client's string, as the base64 line `run_exchange` expects; None when it
        was too long."""
        try:
            line = await self.read_line(SASL_MAX_LINE + 16)
        except LineTooLong:
            return None
        try:
            response = sasl_response(line)
        except GrammarError:
            raise _BadSaslResponse() from None
        if isinstance(response, NeedLiteral):
            if response.size > SASL_MAX_LINE:
                await self._skip(response.size)
                await self.read_line()
                return None
            response = await self.connection.read_exactly(response.size)
            if await self.read_line():
                raise _BadSaslResponse()
        return response

    async def _log_in(self, credentials: Credentials | ExternalCredentials) -> None:
        # A directory that fails raises: `execute` answers NO (TRYLATER).
        result = await session_log_in(
            self.services, self.connection, credentials, protocol="managesieve", secure=self.secure
        )
        if result.temporary:
            raise ManageSieveError(responses.AUTHENTICATION_TRYLATER)
        if not result.ok or result.account is None:
            raise ManageSieveError(responses.AUTHENTICATION_FAILED)
        try:
            self.scripts = await self.services.open_scripts(result.account)
        except Exception:
            log.exception(
                "%s: managesieve: cannot find the scripts of %s",
                self.connection.peer,
                result.account,
            )
            raise ManageSieveError(responses.INTERNAL_ERROR) from None
        self.login_name = result.account
        self.state = State.AUTHENTICATED
        log.info(
            "%s: managesieve(%s): logged in on %s (%s)%s",
            self.connection.peer,
            result.account,
            self.listener.name,
            self.connection.tls.version if self.connection.tls else "no TLS",
            f" by master user {result.master}" if result.master else "",
        )
        await self.send(status("OK", "Logged in."))

    def _unauthenticate(self) -> None:
        """RFC 5804 §2.14.1: back to the not-authenticated state, on the same TLS."""
        log.info("%s: managesieve(%s): unauthenticated", self.connection.peer, self.login_name)
        self.login_name = None
        self.scripts = None
        self.state = State.NOT_AUTHENTICATED
