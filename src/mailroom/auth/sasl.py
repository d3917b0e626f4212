"""SASL server mechanisms PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and
EXTERNAL (RFC 4422 Appendix A), sans-I/O.

A protocol session (SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH, ManageSieve AUTHENTICATE)
creates a `SaslExchange`, feeds it the client's base64 lines exactly as received, and gets
back a `Challenge` to send (base64-encoding and framing it the protocol's way), the
`Credentials` to hand to the `Authenticator` (for EXTERNAL, `ExternalCredentials`: the
identity comes from the TLS client certificate, `auth.certificate_login`), or a
`SaslFailure` to answer. This module
never touches a socket, a clock or the directory; it only decodes, strictly and within
bounds, what a hostile client may send.

Hand-written because the Python SASL libraries (pure-sasl, python-gssapi's wrappers) are
client-side, and the server half of these two mechanisms is a page of parsing that the
protocols' own state machines need to drive anyway.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum, auto

MAX_FIELD_BYTES = 1024
"""Longest authzid, authcid or password, in bytes of UTF-8."""
MAX_MESSAGE_BYTES = 3 * MAX_FIELD_BYTES + 2
"""Longest decoded client message: PLAIN's three fields and two NULs."""
MAX_LINE_LENGTH = 4 * -(-MAX_MESSAGE_BYTES // 3)
"""Longest base64 line a client may send (the protocols' line readers must allow it)."""
CANCEL = b"*"
"""The client's line that abandons the exchange (RFC 4954 §4, RFC 9051 §6.2.2)."""
EMPTY_INITIAL_RESPONSE = b"="
"""An initial response that is present but empty (RFC 4954 §4)."""
PASSWORD_MECHANISMS = ("PLAIN", "LOGIN")
"""The mechanisms that send a password, in the order advertised."""
EXTERNAL = "EXTERNAL"
"""RFC 4422 Appendix A: the client is who its TLS client certificate says."""
MECHANISMS = (*PASSWORD_MECHANISMS, EXTERNAL)
"""Every mechanism this server implements, in the order advertised."""


class UnknownMechanism(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"unknown SASL mechanism {name[:40]!r}: this server offers {', '.join(MECHANISMS)}"
        )


class SaslStateError(RuntimeError):
    """The protocol session drove the exchange out of order (a bug, not a client error)."""


@dataclass(frozen=True)
class Challenge:
    data: bytes
    """Raw challenge; the protocol base64-encodes and frames it (`334 `, `+ `)."""


@dataclass(frozen=True)
class Credentials:
    authzid: str
    """Who to act as; empty when the client asked for nothing beyond authcid."""
    authcid: str
    """Who is logging in."""
    password: str = field(repr=False)


@dataclass(frozen=True)
class ExternalCredentials:
    """EXTERNAL's whole message: the authorization identity, empty when the client wants
    the one its certificate names (RFC 4422 Appendix A)."""

    authzid: str


@dataclass(frozen=True)
class SaslFailure:
    reason: str
    """For the log; a client is answered the protocol's generic failure."""
    cancelled: bool = False
    """The client sent `*`: protocols answer a cancel differently (IMAP BAD, SMTP 501)."""
    too_long: bool = False
    """The client's line was longer than `MAX_LINE_LENGTH` (SMTP answers 500 5.5.6)."""


SaslStep = Challenge | Credentials | ExternalCredentials | SaslFailure


def mechanisms(secure: bool, *, external: bool = False) -> list[str]:
    """Mechanisms to advertise. PLAIN and LOGIN send the password itself, so they are only
    offered on a connection that is secure (TLS, or a network allowed plain text):
    RFC 4616 §6, RFC 9051 §6.2 (LOGINDISABLED), RFC 4954 §4. EXTERNAL only when the
    client presented a certificate (`net.client_certificates.offers_external`)."""
    offered = list(PASSWORD_MECHANISMS) if secure else []
    return [*offered, EXTERNAL] if external else offered


class _Stage(Enum):
    NEW = auto()
    PLAIN_RESPONSE = auto()
    LOGIN_USERNAME = auto()
    LOGIN_PASSWORD = auto()
    EXTERNAL_RESPONSE = auto()
    DONE = auto()


class SaslExchange:
    """One server-side SASL exchange: `start()`, then `respond()` to each challenge, until
    it returns Credentials or a SaslFailure."""

    def __init__(self, mechanism: str) -> None:
        name = mechanism.upper()
        if name not in MECHANISMS:
            raise UnknownMechanism(mechanism)
        self.mechanism = name
        self._stage = _Stage.NEW
        self._username = ""

    @property
    def finished(self) -> bool:
        return self._stage is _Stage.DONE

    def start(self, initial_response: bytes | None) -> SaslStep:
        """Begin, with the base64 initial response given on the AUTH/AUTHENTICATE line
        (`=` for an empty one), or None when the client sent none."""
        if self._stage is not _Stage.NEW:
            raise SaslStateError("the SASL exchange was already started")
        if self.mechanism == "PLAIN":
            self._stage = _Stage.PLAIN_RESPONSE
            if initial_response is None:
                return Challenge(b"")  # RFC 4616 §2: the client's message follows
        elif self.mechanism == EXTERNAL:
            self._stage = _Stage.EXTERNAL_RESPONSE
            if initial_response is None:
                return Challenge(b"")  # RFC 4422 Appendix A.1: an empty challenge
        else:
            self._stage = _Stage.LOGIN_USERNAME
            if initial_response is None:
                return Challenge(b"Username:")
        if initial_response == EMPTY_INITIAL_RESPONSE:
            return self._receive(b"")
        return self.respond(initial_response)

    def respond(self, line: bytes) -> SaslStep:
        """The client's next line (base64, `*` to cancel), with or without its line end."""
        if self._stage in (_Stage.NEW, _Stage.DONE):
            raise SaslStateError(f"respond() while the exchange is {self._stage.name.lower()}")
        line = line.removesuffix(b"\n").removesuffix(b"\r")
        if line == CANCEL:
            return self._fail("the client cancelled the exchange", cancelled=True)
        if len(line) > MAX_LINE_LENGTH:
            return self._fail(f"the client's line is longer than {MAX_LINE_LENGTH} bytes")
        try:
            message = binascii.a2b_base64(line, strict_mode=True)
        except (binascii.Error, ValueError):
            return self._fail("the client's line is not base64")
        return self._receive(message)

    def _receive(self, message: bytes) -> SaslStep:
        if self._stage is _Stage.PLAIN_RESPONSE:
            return self._plain(message)
        if self._stage is _Stage.EXTERNAL_RESPONSE:
            authzid = _field(message, "authzid", may_be_empty=True)
            if isinstance(authzid, SaslFailure):
                return self._fail(authzid.reason)
            self._stage = _Stage.DONE
            return ExternalCredentials(authzid)
        if self._stage is _Stage.LOGIN_USERNAME:
            username = _field(message, "username")
            if isinstance(username, SaslFailure):
                return self._fail(username.reason)
            self._username = username
            self._stage = _Stage.LOGIN_PASSWORD
            return Challenge(b"Password:")
        password = _field(message, "password")
        if isinstance(password, SaslFailure):
            return self._fail(password.reason)
        self._stage = _Stage.DONE
        return Credentials(authzid="", authcid=self._username, password=password)

    def _plain(self, message: bytes) -> SaslStep:
        # RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        if message.count(b"\x00") != 2:
            return self._fail("PLAIN needs authzid NUL authcid NUL password (two NULs)")
        fields: list[str] = []
        for raw, name in zip(
            message.split(b"\x00"), ("authzid", "authcid", "password"), strict=True
        ):
            value = _field(raw, name, may_be_empty=name == "authzid")
            if isinstance(value, SaslFailure):
                return self._fail(value.reason)
            fields.append(value)
        authzid, authcid, password = fields
        self._stage = _Stage.DONE
        return Credentials(authzid=authzid, authcid=authcid, password=password)

    def _fail(self, reason: str, *, cancelled: bool = False) -> SaslFailure:
        self._stage = _Stage.DONE
        return SaslFailure(reason, cancelled=cancelled)


def _field(raw: bytes, name: str, *, may_be_empty: bool = False) -> str | SaslFailure:
    """One decoded field, or why it is refused. Reasons never quote the field: it may be
    the password."""
    if not raw and not may_be_empty:
        return SaslFailure(f"the {name} is empty")
    if len(raw) > MAX_FIELD_BYTES:
        return SaslFailure(f"the {name} is longer than {MAX_FIELD_BYTES} bytes")
    if b"\x00" in raw:
        return SaslFailure(f"the {name} contains NUL")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return SaslFailure(f"the {name} is not UTF-8")


SendChallenge = Callable[[bytes], Awaitable[None]]
"""Sends one challenge, given base64-encoded, in the protocol's framing (`334 `, `+ `)."""
ReadResponse = Callable[[], Awaitable[bytes | None]]
"""Reads the client's next response line without its line end, or None when the line
was longer than `MAX_LINE_LENGTH` (the protocol's reader skips the rest of it)."""


async def run_exchange(
    mechanism: str,
    initial_response: bytes | None,
    *,
    send_challenge: SendChallenge,
    read_response: ReadResponse,
) -> Credentials | ExternalCredentials | SaslFailure:
    """Drive one whole exchange: the one SASL loop of every protocol (SMTP AUTH, IMAP
    AUTHENTICATE, POP3 AUTH, ManageSieve AUTHENTICATE). Each protocol supplies only its
    framing, and answers the result its own way. Raises UnknownMechanism before anything
    is sent."""
    exchange = SaslExchange(mechanism)
    step = exchange.start(initial_response)
    while isinstance(step, Challenge):
        await send_challenge(base64.b64encode(step.data))
        line = await read_response()
        if line is None:
            reason = f"the client's line is longer than {MAX_LINE_LENGTH} bytes"
            return SaslFailure(reason, too_long=True)
        step = exchange.respond(line)
    return step


def plain_response(authcid: str, password: str, authzid: str = "") -> bytes:
    """A client's base64 PLAIN message, for our own test clients and probes."""
    message = b"\x00".join(part.encode("utf-8") for part in (authzid, authcid, password))
    return base64.b64encode(message)
