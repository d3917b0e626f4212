"""One POP3 connection: reads command lines with the sans-I/O parser and answers them.

RFC 1939's states: AUTHORIZATION (USER/PASS, AUTH, STLS, CAPA), TRANSACTION (the
commands on the maildrop) and UPDATE (QUIT after login: the maildrop's changes are
applied, `Maildrop.commit`). A client that sends several commands without waiting
(RFC 2449 PIPELINING) is answered in order: lines are read from the connection's
buffer one at a time.

Handlers refuse by raising `replies.Pop3Error`; `execute` answers every refusal in one
place (`_refuse`), where the listener's `max_bad_commands` is counted. The session gets
its connection, its listener, the POP3 services and its server's session registry:
never the server itself.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from mailroom.auth import (
    Credentials,
    ExternalCredentials,
    SaslFailure,
    UnknownMechanism,
    mechanisms,
    run_exchange,
)
from mailroom.auth.sasl import MAX_LINE_LENGTH as SASL_MAX_LINE
from mailroom.config import Listener
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
from mailroom.pop3 import replies, wire
from mailroom.pop3.commands import (
    Apop,
    Auth,
    Capa,
    Command,
    Dele,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    parse_command,
)
from mailroom.pop3.maildrop import Maildrop
from mailroom.pop3.replies import ErrReply, Pop3Error
from mailroom.pop3.services import Pop3Services
from mailroom.pop3.wire import ok
from mailroom.store import Account, Mailbox

log = logging.getLogger("mailroom.pop3")

READ_LIMIT = 1024
"""Longest line read as a command. The grammar allows 255 octets (RFC 2449 §4); a line
up to this long is read whole and refused with a reason, a longer one is skipped."""
CORK_BYTES = 256 * 1024
"""Answers held back while the client's next command is already here are sent once
they reach this size."""


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    LOGOUT = "logout"


class Pop3Session:
    """The state of one client connection."""

    def __init__(
        self,
        connection: Connection,
        listener: Listener,
        services: Pop3Services,
        registry: SessionRegistry[Pop3Session],
    ) -> None:
        self.connection = connection
        self.listener = listener
        self.services = services
        self.registry = registry
        """Its `stopped` ends the session between commands (`Pop3Server.stopping`)."""
        self.state = State.AUTHORIZATION
        self.user: str | None = None
        """The name of the last USER command, until PASS."""
        self.login_name: str | None = None
        self.account: Account | None = None
        self.mailbox: Mailbox | None = None
        self.maildrop: Maildrop | None = None
        self.bad_commands = BadCommandLimit(listener.max_bad_commands)
        """Bad commands and failed logins in a row (Dovecot's rule: any command that
        works starts the count again); the session ends at the listener's limit."""
        self._output: list[bytes] = []
        self._output_size = 0
        self.waiting = False
        """Between commands: nothing is lost by ending the session now."""

    @property
    def quitting(self) -> bool:
        """QUIT was answered (a property, not a test written in `run`: mypy keeps the loop
        condition's narrowing of `state` across the commands that change it)."""
        return self.state is State.LOGOUT

    @property
    def secure(self) -> bool:
        return may_send_password(self.connection, self.listener)

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        reason = "connection closed by the client"
        try:
            await self.send_now(ok("Mailroom ready."))
            while self.state is not State.LOGOUT and not self.registry.stopped:
                self.waiting = True
                line = await self._read_command_line()
                self.waiting = False
                if line is not None:
                    await self.execute(line)
                await self._answer_buffered()
                # While the client's next command is already here (RFC 2449 PIPELINING),
                # answers wait and go out together, in a few large writes rather than
                # one small one each, as Dovecot's corked output does.
                if self.quitting:
                    break  # QUIT's answer waits for the maildrop's release (below)
                if self._output_size >= CORK_BYTES or not self.connection.has_buffered_line():
                    await self.flush()
            if self.quitting:
                reason = "logged out"
                # The maildrop is free before the client hears +OK to QUIT: it may log in
                # again at once, before either side has closed this connection.
                await self._leave()
                await self.flush()
            else:
                reason = "server shutting down"
                await self.send_now(replies.SHUTTING_DOWN.line)
        except IdleTimeout:
            reason = "disconnected for inactivity"
            with contextlib.suppress(OSError, ConnectionClosed):
                await self.send_now(replies.DISCONNECTED_FOR_INACTIVITY.line)
        except ConnectionClosed:
            pass
        finally:
            await self._leave()
        if self.login_name is not None:
            log.info("%s: pop3(%s): %s", self.connection.peer, self.login_name, reason)

    async def _answer_buffered(self) -> None:
        """Answer the commands that have arrived already (RFC 2449 PIPELINING) in one
        loop, without a coroutine per command: most of them (a RETR of a message read
        ahead, DELE, LIST) are answered at once. Stops where the answers reach
        CORK_BYTES (the command loop sends them), at logout or shutdown, or where
        a line is not whole yet (or over-long: `_read_command_line` deals with it)."""
        connection = self.connection
        while (
            self._output_size < CORK_BYTES
            and self.state is not State.LOGOUT
            and not self.registry.stopped
        ):
            line = connection.buffered_line(READ_LIMIT)
            if line is None:
                return
            pending = self.execute_now(_without_line_end(line))
            if pending is not None:
                await pending

    def stop_when_idle(self) -> None:
        """The server is stopping (see Pop3Server.stopping)."""
        if self.waiting:
            self.connection.write(replies.SHUTTING_DOWN.line)
            self.connection.close()

    def answer(self, *pieces: bytes) -> None:
        """Queue an answer for the client; the command loop sends it (`run`)."""
        self._output.extend(pieces)
        self._output_size += sum(map(len, pieces))

    async def send_now(self, data: bytes) -> None:
        """Answer at once, with what was held back: before the session waits for
        anything but a command (a SASL response, a TLS handshake) or ends."""
        self._output.append(data)
        await self.flush()

    async def flush(self) -> None:
        """Send what was held back: the pieces as they are, in one writev() (a burst's
        messages are not joined into one copy first, `Connection.writelines`)."""
        if not self._output:
            return
        output, self._output, self._output_size = self._output, [], 0
        self.connection.writelines(output)
        await self.connection.drain()

    async def _read_command_line(self) -> bytes | None:
        try:
            line = await self.connection.read_line(READ_LIMIT)
        except LineTooLong:
            self._refuse(replies.COMMAND_LINE_TOO_LONG)
            return None
        if not line.endswith(b"\n"):
            raise ConnectionClosed()  # input ended in the middle of a line
        return _without_line_end(line)

    def _refuse(self, reply: ErrReply) -> None:
        """The one place a refusal is answered. A bad command or a failed login is
        counted, and ends the session when it is the listener's `max_bad_commands`th in
        a row; any other refusal starts the count again, as a command that works does."""
        if not reply.bad_command:
            self.bad_commands.good()
        elif self.bad_commands.bad():
            reply = replies.TOO_MANY_BAD_COMMANDS
            self.state = State.LOGOUT
        self.answer(reply.line)

    async def execute(self, line: bytes) -> None:
        """Answer one command line (without its line end)."""
        pending = self.execute_now(line)
        if pending is not None:
            await pending

    def execute_now(self, line: bytes) -> Awaitable[None] | None:
        """Answer one command line as far as can be done without waiting; what is left
        to await (a login, a read from the store, QUIT), if anything."""
        try:
            command = parse_command(line)
        except Pop3Error as error:  # CommandError: the line is no command
            self._refuse(error.reply)
            return None
        if self.state is State.AUTHORIZATION:
            return self._finish(command, self._authorization(command))
        try:
            # Most commands are answered at once; those that wait for the disk or the
            # store (and QUIT) return what to await.
            pending = self._transaction(command)
        except Pop3Error as error:
            self._refuse(error.reply)
            return None
        except Exception:
            log.exception("%s: pop3 %s failed", self.connection.peer, command.name)
            self._refuse(replies.INTERNAL_ERROR)
            return None
        if pending is not None:
            return self._finish(command, pending)
        self.bad_commands.good()
        return None

    async def _finish(self, command: Command, pending: Awaitable[None]) -> None:
        """Await the rest of a command's work, refusing as `execute_now` does."""
        try:
            await pending
        except Pop3Error as error:
            self._refuse(error.reply)
            return
        except (ConnectionClosed, IdleTimeout):
            raise
        except Exception:
            log.exception("%s: pop3 %s failed", self.connection.peer, command.name)
            self._refuse(replies.INTERNAL_ERROR)
            return
        self.bad_commands.good()

    async def _leave(self) -> None:
        """The session ends: close the maildrop without applying anything (that is
        QUIT's to do) and release it."""
        if self.maildrop is not None:
            self.maildrop.drop_read_ahead()
            self.maildrop = None
        if self.mailbox is not None:
            mailbox, self.mailbox = self.mailbox, None
            try:
                await mailbox.close()
            finally:
                assert self.account is not None
                self.services.locks.release(self.account.root)

    # -- any state -----------------------------------------------------------------------

    def capabilities(self) -> list[str]:
        """RFC 2449 §6. USER is always listed, as Dovecot does (a client without TLS is
        then told why, rather than left without a way to log in); SASL lists only the
        mechanisms this connection may use."""
        listed = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        if self.state is State.AUTHORIZATION:
            listed.append("USER")
            offered = mechanisms(self.secure, external=offers_external(self.connection))
            if offered:
                listed.append("SASL " + " ".join(offered))
            if self.services.tls is not None and self.connection.tls is None:
                listed.append("STLS")
        listed.append("IMPLEMENTATION Mailroom")
        return listed

    def _capa(self) -> None:
        body = wire.multiline(c.encode("ascii") for c in self.capabilities())
        self.answer(ok("Capability list follows"), body)

    def _quit(self) -> None:
        self.state = State.LOGOUT
        self.answer(ok("Logging out."))

    # -- AUTHORIZATION -------------------------------------------------------------------

    async def _authorization(self, command: Command) -> None:
        match command:
            case Capa():
                self._capa()
            case Noop():
                self.answer(ok())
            case Quit():
                self._quit()
            case Stls():
                await self._stls()
            case User(username=name):
                if not self.secure:
                    raise Pop3Error(replies.PLAINTEXT_DISALLOWED)
                self.user = name
                self.answer(ok())
            case Pass(password=password):
                user, self.user = self.user, None
                if user is None:
                    raise Pop3Error(replies.NO_USERNAME)
                if not self.secure:
                    raise Pop3Error(replies.PLAINTEXT_DISALLOWED)
                await self._log_in(Credentials(authzid="", authcid=user, password=password))
            case Auth(mechanism=None):
                external = offers_external(self.connection)
                offered = [m.encode("ascii") for m in mechanisms(self.secure, external=external)]
                self.answer(ok(), wire.multiline(offered))
            case Auth():
                await self._auth(command)
            case Apop():
                raise Pop3Error(replies.APOP_NOT_SUPPORTED)
            case _:
                raise Pop3Error(replies.UNKNOWN_COMMAND_IN_STATE)

    async def _stls(self) -> None:
        tls = self.services.tls
        if tls is None:
            raise Pop3Error(replies.TLS_NOT_AVAILABLE)
        if self.connection.tls is not None:
            raise Pop3Error(replies.TLS_ALREADY_ACTIVE)
        await self.send_now(ok("Begin TLS negotiation now."))
        await self.connection.start_tls(tls.for_listener(self.listener.name))
        self.user = None  # RFC 2595 §4: what came before TLS is forgotten

    async def _auth(self, command: Auth) -> None:
        """RFC 5034 §4: the exchange is `mailroom.auth`'s; POP3 gives it the framing."""
        assert command.mechanism is not None
        if not self.secure:
            raise Pop3Error(replies.PLAINTEXT_DISALLOWED)
        try:
            result = await run_exchange(
                command.mechanism,
                command.initial_response,
                send_challenge=self._send_challenge,
                read_response=self._read_sasl_response,
            )
        except UnknownMechanism:
            raise Pop3Error(replies.UNSUPPORTED_MECHANISM) from None
        if isinstance(result, SaslFailure):
            if result.too_long:
                raise Pop3Error(replies.AUTH_RESPONSE_TOO_LONG)
            if result.cancelled:
                raise Pop3Error(replies.AUTH_ABORTED)
            raise Pop3Error(replies.AUTH_FAILED)
        await self._log_in(result)

    async def _send_challenge(self, encoded: bytes) -> None:
        await self.send_now(wire.continuation(encoded))

    async def _read_sasl_response(self) -> bytes | None:
        """The client's next line without its line end; None when it was too long."""
        try:
            line = await self.connection.read_line(SASL_MAX_LINE + 2)
        except LineTooLong:
            return None
        return line.rstrip(b"\r\n")

    async def _log_in(self, credentials: Credentials | ExternalCredentials) -> None:
        result = await session_log_in(
            self.services, self.connection, credentials, protocol="pop3", secure=self.secure
        )
        if result.temporary:
            raise Pop3Error(replies.AUTH_TEMPORARY)
        if not result.ok or result.account is None:
            raise Pop3Error(replies.AUTH_FAILED)
        account = await self.services.open_account(result.account)
        if not await self.services.locks.acquire(account.root):
            log.info(
                "%s: pop3(%s): refused, another POP3 session has the mailbox",
                self.connection.peer,
                result.account,
            )
            raise Pop3Error(replies.MAILBOX_IN_USE)
        try:
            mailbox = await account.open("INBOX")
        except BaseException:
            self.services.locks.release(account.root)
            raise
        self.account, self.mailbox = account, mailbox
        self.maildrop = await Maildrop.open(mailbox)
        self.login_name = result.account
        self.state = State.TRANSACTION
        self.connection.idle_timeout = self.services.settings.authenticated_timeout_seconds
        count, size = self.maildrop.stat()
        log.info(
            "%s: pop3(%s): logged in on %s (%s), %d messages, %d octets",
            self.connection.peer,
            result.account,
            self.listener.name,
            self.connection.tls.version if self.connection.tls else "no TLS",
            count,
            size,
        )
        self.answer(ok("Logged in."))

    # -- TRANSACTION ---------------------------------------------------------------------

    def _transaction(self, command: Command) -> Awaitable[None] | None:
        """Answer a command of the TRANSACTION state; what is left to await, if any."""
        maildrop = self.maildrop
        assert maildrop is not None
        match command:
            case Retr(number=number):
                index = maildrop.index(number)
                data = maildrop.ready(index)
                if data is None:
                    return self._read_then(maildrop, index, partial(self._retr, maildrop, index))
                self._retr(maildrop, index, data)
            case Top(number=number, lines=lines):
                return self._read_then(maildrop, maildrop.index(number), partial(self._top, lines))
            case Stat():
                count, size = maildrop.stat()
                self.answer(ok(f"{count} {size}"))
            case List(number=None):
                listing = [b"%d %d" % (i + 1, maildrop.size(i)) for i in maildrop.present()]
                self.answer(ok(f"{len(listing)} messages:"), wire.multiline(listing))
            case List(number=int(number)):
                index = maildrop.index(number)
                self.answer(ok(f"{number} {maildrop.size(index)}"))
            case Uidl(number=None):
                uidls = maildrop.uidls
                listing = [b"%d %s" % (i + 1, uidls[i].encode()) for i in maildrop.present()]
                self.answer(ok(), wire.multiline(listing))
            case Uidl(number=int(number)):
                index = maildrop.index(number)
                self.answer(ok(f"{number} {maildrop.uidls[index]}"))
            case Dele(number=number):
                maildrop.delete(number)
                self.answer(ok("Marked to be deleted."))
            case Rset():
                maildrop.reset()
                self.answer(ok())
            case Noop():
                self.answer(ok())
            case Capa():
                self._capa()
            case Quit():
                return self._update(maildrop)
            case _:
                raise Pop3Error(replies.UNKNOWN_COMMAND_IN_STATE)
        return None

    async def _read_then(
        self, maildrop: Maildrop, index: int, answer: Callable[[bytes], None]
    ) -> None:
        """Read the message from the store, then `answer` with it."""
        data = await maildrop.read(index)
        if data is None:
            raise Pop3Error(replies.MESSAGE_REMOVED)
        answer(data)

    def _retr(self, maildrop: Maildrop, index: int, data: bytes) -> None:
        maildrop.retrieved.add(index)
        self.answer(b"+OK %d octets\r\n" % len(data), *wire.dot_stuffed_parts(data))

    def _top(self, lines: int, data: bytes) -> None:
        self.answer(ok(), wire.top(data, lines))

    async def _update(self, maildrop: Maildrop) -> None:
        """RFC 1939 §6: QUIT from TRANSACTION applies the session's changes."""
        self.state = State.LOGOUT
        try:
            gone = await maildrop.commit()
        except Exception:
            log.exception(
                "%s: pop3(%s): applying QUIT failed", self.connection.peer, self.login_name
            )
            raise Pop3Error(replies.DELETIONS_FAILED) from None
        deleted = len(maildrop.deleted)
        if deleted:
            log.info(
                "%s: pop3(%s): removed %d messages%s",
                self.connection.peer,
                self.login_name,
                deleted - gone,
                f" ({gone} already gone)" if gone else "",
            )
        self.answer(ok("Logging out."))


def _without_line_end(line: bytes) -> bytes:
    """A command line without its CRLF (or bare LF, as Dovecot accepts)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(b"\n") else line
