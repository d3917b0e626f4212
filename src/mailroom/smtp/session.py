"""One SMTP or submission session: the command loop around the sans-I/O grammar.

It reads lines from the connection layer, lets `commands` parse them, asks
`transaction` whether each may be taken now, asks the authenticator and the router, and
sends the replies `replies` holds. The rules (which command when, which recipient is
refused) are `transaction`'s; which extensions to offer is `policy`'s; DATA and BDAT,
the queue file and the 250 that acknowledges a message are `reception`'s.
"""

from __future__ import annotations

import logging

from mailroom.auth import Credentials, ExternalCredentials, UnknownMechanism, run_exchange
from mailroom.auth.sasl import MAX_LINE_LENGTH as SASL_MAX_LINE_LENGTH
from mailroom.net import (
    BadCommandLimit,
    Connection,
    ConnectionClosed,
    IdleTimeout,
    LineTooLong,
    SessionRegistry,
    may_send_password,
    session_log_in,
)
from mailroom.routing import DirectoryUnavailable, InvalidRecipient
from mailroom.smtp import replies
from mailroom.smtp.commands import (
    AnyCommand,
    Auth,
    Bdat,
    Data,
    Expn,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
)
from mailroom.smtp.policy import SessionPolicy
from mailroom.smtp.reception import MessageReception
from mailroom.smtp.replies import SmtpError, SmtpReply
from mailroom.smtp.transaction import (
    SessionState,
    auth_refusal,
    envelope_recipients,
    mail_refusal,
    new_transaction,
    rcpt_refusal,
    recipient_address,
    refuse_if,
    route_refusal,
    sender_of,
)

log = logging.getLogger("mailroom.smtp")


class SessionEnded(Exception):
    """The session must end now (QUIT, too many errors, timeout); the reply was sent."""


class SmtpSession:
    """One client's session, from greeting to goodbye."""

    def __init__(
        self,
        policy: SessionPolicy,
        connection: Connection,
        registry: SessionRegistry[SmtpSession],
    ) -> None:
        self.policy = policy
        self.services = policy.services
        self.settings = policy.services.settings
        self.connection = connection
        self.registry = registry
        """The listener's sessions: `stopped` once the server stops."""
        self.hostname = self.settings.hostname
        self.state = SessionState()
        self.reception = MessageReception(connection, self.services, self.state, self.send)
        self.bad_commands = BadCommandLimit(policy.listener.max_bad_commands)
        self.enhanced_codes = True
        self.waiting = False
        """Waiting for the client's next command: a stopping server may end it now."""

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        log.info("connect from %s on %s", self.connection.peer, self.connection.listener_name)
        try:
            await self.send(replies.greeting(self.hostname, self.settings.greeting))
            while not self.registry.stopped:
                await self.next_command()
            await self.send(replies.shutting_down(self.hostname), quiet=True)
        except SessionEnded:
            pass
        except IdleTimeout:
            await self.send(replies.timed_out(self.hostname), quiet=True)
        finally:
            await self.abort_transaction()
            log.info("disconnect from %s", self.connection.peer)

    def stop_when_idle(self) -> None:
        """The server is stopping: a session waiting for its client's next command ends
        now, with RFC 5321 §3.8's 421 (nothing unacknowledged is kept; the client sends
        again later); a busy one ends after its command (`run`)."""
        if self.waiting:
            self.connection.write(replies.shutting_down(self.hostname).encode())
            self.connection.close()

    async def send(self, reply: SmtpReply, *, quiet: bool = False) -> None:
        """Send a reply; with pipelined commands waiting, replies are sent together."""
        self.connection.write(reply.encode(self.enhanced_codes))
        if not self.connection.has_buffered_input():
            try:
                await self.connection.drain()
            except (ConnectionError, ConnectionClosed):
                if not quiet:
                    raise

    async def refuse(self, reply: SmtpReply) -> None:
        """A client error: answer it, and end the session after too many."""
        if self.bad_commands.bad():
            await self.send(replies.too_many_errors(self.hostname))
            raise SessionEnded()
        await self.send(reply)

    def message_accepted(self) -> None:
        """A message was answered 250: the errors are counted anew, as Postfix's
        smtpd_hard_error_limit counts errors "without delivering mail"."""
        self.bad_commands.good()

    async def next_command(self) -> None:
        limit = self.settings.max_command_line
        self.waiting = True
        try:
            line = await self.connection.read_line(limit)
        except LineTooLong:
            await self.refuse(replies.LINE_TOO_LONG)
            return
        finally:
            self.waiting = False
        transaction = self.state.transaction
        smtputf8 = transaction.smtputf8 if transaction else False
        try:
            command = parse_command(line, max_length=limit, smtputf8=smtputf8)
        except SmtpError as error:
            await self.refuse(error.reply)
            return
        try:
            await self.dispatch(command)
        except SmtpError as error:
            await self.refuse(error.reply)
        except (ConnectionClosed, IdleTimeout, SessionEnded):
            raise
        except Exception:
            # The last resort: a bug or a failing service must cost the client a retry,
            # never the message (nothing was acknowledged) or a silent hang-up.
            log.exception(
                "%s: unexpected error in %s", self.connection.peer, type(command).__name__
            )
            await self.abort_transaction()
            await self.send(replies.TEMPORARY)

    async def dispatch(self, command: AnyCommand) -> None:
        match command:
            case Helo():
                await self.on_helo(command)
            case Mail():
                await self.on_mail(command)
            case Rcpt():
                await self.on_rcpt(command)
            case Data():
                await self.reception.data()
                self.message_accepted()
            case Bdat():
                if await self.reception.bdat(command):
                    self.message_accepted()
            case Rset():
                await self.abort_transaction()
                await self.send(replies.OK)
            case Noop():
                await self.send(replies.OK)
            case Quit():
                await self.send(replies.CLOSING, quiet=True)
                raise SessionEnded()
            case StartTls():
                await self.on_starttls()
            case Auth():
                await self.on_auth(command)
            case Vrfy():
                await self.send(replies.CANNOT_VRFY)
            case Expn():
                raise SmtpError(replies.EXPN_DISABLED)
            case Help():
                await self.send(replies.HELP)

    # -- greeting and TLS -----------------------------------------------------------------

    async def on_helo(self, command: Helo) -> None:
        await self.abort_transaction()
        self.state.helo = command.domain
        self.state.extended = command.extended
        if not command.extended:
            await self.send(replies.helo_reply(self.hostname))
            return
        extensions = self.policy.extensions(self.connection)
        await self.send(replies.ehlo_reply(self.hostname, extensions))

    async def on_starttls(self) -> None:
        if self.connection.tls is not None:
            raise SmtpError(replies.TLS_ALREADY_ACTIVE)
        if not self.policy.offers_starttls:
            raise SmtpError(replies.NOT_IMPLEMENTED)
        await self.send(replies.READY_FOR_TLS)
        # RFC 3207 §4.2: forget everything learnt before TLS; the connection layer
        # drops whatever the client pipelined after STARTTLS.
        await self.connection.start_tls(self.policy.tls_context())
        await self.abort_transaction()
        self.state.forget_for_tls()

    # -- authentication -------------------------------------------------------------------

    async def on_auth(self, command: Auth) -> None:
        refuse_if(
            auth_refusal(
                self.state,
                offered=self.policy.offers_auth,
                may_send_password=may_send_password(self.connection, self.policy.listener),
            )
        )
        initial = command.initial_response.encode("ascii") if command.initial_response else None
        try:
            result = await run_exchange(
                command.mechanism,
                initial,
                send_challenge=self.send_challenge,
                read_response=self.read_response,
            )
        except UnknownMechanism:
            raise SmtpError(replies.AUTH_UNKNOWN_MECHANISM) from None
        if isinstance(result, Credentials | ExternalCredentials):
            await self.authenticate(result)
        elif result.too_long:
            raise SmtpError(replies.AUTH_RESPONSE_TOO_LONG)
        else:
            raise SmtpError(replies.AUTH_ABORTED if result.cancelled else replies.AUTH_FAILED)

    async def send_challenge(self, challenge: bytes) -> None:
        """RFC 4954 §4: `334 base64`."""
        await self.send(replies.auth_challenge(challenge.decode("ascii")))

    async def read_response(self) -> bytes | None:
        try:
            line = await self.connection.read_line(SASL_MAX_LINE_LENGTH + 2)
        except LineTooLong:
            return None
        return line.rstrip(b"\r\n")

    async def authenticate(self, credentials: Credentials | ExternalCredentials) -> None:
        result = await session_log_in(
            self.services,
            self.connection,
            credentials,
            protocol=self.policy.listener.protocol.value,
            secure=self.connection.tls is not None,
        )
        if result.temporary:
            raise SmtpError(replies.AUTH_TEMPORARY)
        if not result.ok:
            raise SmtpError(replies.AUTH_FAILED)
        self.state.account = result.account
        await self.send(replies.AUTH_SUCCEEDED)

    # -- the transaction -----------------------------------------------------------------

    async def on_mail(self, command: Mail) -> None:
        state = self.state
        refuse_if(
            mail_refusal(
                state, command, requires_auth=self.policy.requires_auth, settings=self.settings
            )
        )
        sender = sender_of(command)
        account = state.account
        if (
            account is not None
            and sender
            and not await self.services.router.may_send_as(account, sender)
        ):
            log.info("%s: sender <%s> refused for login %s", self.connection.peer, sender, account)
            raise SmtpError(replies.sender_not_owned(sender, account))
        state.transaction = new_transaction(command)
        await self.send(replies.SENDER_OK)

    async def on_rcpt(self, command: Rcpt) -> None:
        refuse_if(rcpt_refusal(self.state, command, settings=self.settings))
        transaction = self.state.transaction
        assert transaction is not None
        address = recipient_address(command.path)
        try:
            route = await self.services.router.route(address, srs=self.services.srs)
        except InvalidRecipient as error:
            raise SmtpError(replies.BAD_RECIPIENT_SYNTAX.with_detail(str(error))) from None
        except DirectoryUnavailable:
            raise SmtpError(replies.TEMPORARY) from None
        refusal = route_refusal(
            route, authenticated=self.state.account is not None, shown=command.path.mailbox
        )
        if refusal is not None:
            log.info(
                "%s: RCPT <%s> refused: %s %s",
                self.connection.peer,
                address,
                refusal.code,
                refusal.text,
            )
            raise SmtpError(refusal)
        for failure in route.expansion.failures:
            log.warning(
                "%s: RCPT <%s>: %s (%s)",
                self.connection.peer,
                address,
                failure.reason.value,
                failure.message,
            )
        transaction.accept(envelope_recipients(route, command.params))
        await self.send(replies.RECIPIENT_OK)

    async def abort_transaction(self) -> None:
        """RSET, a new greeting, STARTTLS, an error or the end: no message is pending."""
        await self.reception.abort()
