"""The envelope of a queued message: who sent it, to whom, and how each recipient fares.

The envelope is kept beside the message as a small JSON file (`ID.env`) and
rewritten whenever a recipient's state changes; the message itself is never
touched after it is committed. JSON rather than Postfix's record format
because it is one `json.loads` away from any tool an administrator has, and
the envelope is small.

`from_json` trusts nothing: a file that is not exactly the shape `to_json`
writes is refused with `EnvelopeError`, never half-read. Unknown keys are
ignored, so a newer Mailroom may add some without breaking a rollback. Keys added
after version 1 was first written (`held`, `delay_warned`, a recipient's `account`
and `detail`) may be missing and then take their defaults, so envelopes queued by an
older Mailroom still read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 1


class EnvelopeError(ValueError):
    """An envelope file (or value) is malformed; the message says which part."""


class RecipientState(StrEnum):
    PENDING = "pending"
    """Not tried yet."""
    DEFERRED = "deferred"
    """Tried, failed temporarily, to be tried again at `next_attempt`."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Failed permanently (or expired): to be returned to the sender."""

    @property
    def is_final(self) -> bool:
        return self in (RecipientState.DELIVERED, RecipientState.FAILED)


@dataclass(frozen=True)
class EnvelopeRecipient:
    address: str
    original: str
    """The address as the client gave it, or its ORCPT (RFC 3461 §4.2): what a DSN reports."""
    notify: frozenset[str] | None = None
    """RFC 3461 NOTIFY values (SUCCESS, FAILURE, DELAY, NEVER); None when not given."""
    state: RecipientState = RecipientState.PENDING
    last_reply: str = ""
    """The last answer about this recipient, e.g. "4.2.2 Mailbox full"."""
    attempts: int = 0
    next_attempt: float | None = None
    """When a deferred recipient is next tried (UTC epoch seconds)."""
    account: str | None = None
    """The account routing delivered it to (its primary address), for a local
    recipient; None for others, and in envelopes queued before routing recorded it."""
    detail: str | None = None
    """The sub-address detail routing found (`lists` of `alice+lists@`; "" for
    `alice+@`, RFC 5233), for Sieve's `:detail`; None when there was none."""

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise EnvelopeError(f"recipient {self.address!r}: attempts must not be negative")
        if self.next_attempt is not None and not math.isfinite(self.next_attempt):
            raise EnvelopeError(f"recipient {self.address!r}: next_attempt must be finite")


@dataclass(frozen=True)
class MailParams:
    """The MAIL FROM parameters that must survive queueing (RFC 1870, 6152, 6531, 3461)."""

    size: int | None = None
    """SIZE= as declared by the client (the stored size is QueueEntry.size)."""
    body: str | None = None
    """BODY=7BIT, 8BITMIME or BINARYMIME."""
    smtputf8: bool = False
    ret: str | None = None
    """RET=FULL or HDRS."""
    envid: str | None = None
    """ENVID= (RFC 3461 §4.4), as received."""


@dataclass(frozen=True)
class ClientInfo:
    """Where the message came from, for Received: headers, bounces and logs."""

    helo: str
    ip: str
    hostname: str | None = None
    """The client's verified reverse-DNS name, if any."""


@dataclass(frozen=True)
class Envelope:
    sender: str
    """The reverse path; "" is the null sender of bounces (RFC 5321 §4.5.5)."""
    recipients: tuple[EnvelopeRecipient, ...]
    received_at: float
    """When the message was accepted (UTC epoch seconds)."""
    params: MailParams = MailParams()
    client: ClientInfo | None = None
    authenticated: str | None = None
    """The account that submitted it, if the client logged in."""
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Free annotations (e.g. a transport chosen at routing time)."""
    held: bool = False
    """Put on hold by an administrator: not delivered until released (`postsuper -h`)."""
    delay_warned: bool = False
    """A delay warning (RFC 3464 Action: delayed) has been sent: never send another."""

    def __post_init__(self) -> None:
        if not self.recipients:
            raise EnvelopeError("an envelope needs at least one recipient")
        if not math.isfinite(self.received_at):
            raise EnvelopeError("received_at must be a finite time")

    def to_json(self) -> bytes:
        """The envelope as the bytes of an `ID.env` file."""
        document: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "sender": self.sender,
            "recipients": [
                {
                    "address": r.address,
                    "original": r.original,
                    "notify": None if r.notify is None else sorted(r.notify),
                    "state": r.state.value,
                    "last_reply": r.last_reply,
                    "attempts": r.attempts,
                    "next_attempt": r.next_attempt,
                    "account": r.account,
                    "detail": r.detail,
                }
                for r in self.recipients
            ],
            "received_at": self.received_at,
            "params": {
                "size": self.params.size,
                "body": self.params.body,
                "smtputf8": self.params.smtputf8,
                "ret": self.params.ret,
                "envid": self.params.envid,
            },
            "client": None
            if self.client is None
            else {"helo": self.client.helo, "ip": self.client.ip, "hostname": self.client.hostname},
            "authenticated": self.authenticated,
            "extra": dict(self.extra),
            "held": self.held,
            "delay_warned": self.delay_warned,
        }
        # ensure_ascii: addresses decoded with surrogateescape still round-trip.
        return json.dumps(document, ensure_ascii=True, allow_nan=False, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Read what `to_json` wrote; raise EnvelopeError for anything else."""
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise EnvelopeError(f"not JSON: {error}") from None
        top = _Fields(document, "envelope")
        version = top.integer("version")
        if version != FORMAT_VERSION:
            raise EnvelopeError(f"unknown envelope version {version} (this Mailroom reads 1)")
        recipients = []
        for index, item in enumerate(top.array("recipients")):
            r = _Fields(item, f"recipients[{index}]")
            notify = r.optional_array("notify")
            state = r.text("state")
            try:
                recipient_state = RecipientState(state)
            except ValueError:
                raise EnvelopeError(f"recipients[{index}].state: unknown state {state!r}") from None
            recipients.append(
                EnvelopeRecipient(
                    address=r.text("address"),
                    original=r.text("original"),
                    notify=None
                    if notify is None
                    else frozenset(_text(v, f"recipients[{index}].notify") for v in notify),
                    state=recipient_state,
                    last_reply=r.text("last_reply"),
                    attempts=r.integer("attempts"),
                    next_attempt=r.optional_number("next_attempt"),
                    account=r.added_optional_text("account"),
                    detail=r.added_optional_text("detail"),
                )
            )
        p = _Fields(top.value("params"), "params")
        client_document = top.value("client")
        client = None
        if client_document is not None:
            c = _Fields(client_document, "client")
            client = ClientInfo(c.text("helo"), c.text("ip"), c.optional_text("hostname"))
        extra = top.value("extra")
        if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
            raise EnvelopeError("extra: expected an object of strings")
        return cls(
            sender=top.text("sender"),
            recipients=tuple(recipients),
            received_at=top.number("received_at"),
            params=MailParams(
                size=p.optional_integer("size"),
                body=p.optional_text("body"),
                smtputf8=p.boolean("smtputf8"),
                ret=p.optional_text("ret"),
                envid=p.optional_text("envid"),
            ),
            client=client,
            authenticated=top.optional_text("authenticated"),
            extra=extra,
            held=top.optional_boolean("held"),
            delay_warned=top.optional_boolean("delay_warned"),
        )


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise EnvelopeError(f"{where}: expected a string, found {type(value).__name__}")
    return value


class _Fields:
    """Typed access to one JSON object's members, naming the path in every error."""

    def __init__(self, document: object, where: str) -> None:
        if not isinstance(document, dict):
            raise EnvelopeError(f"{where}: expected an object")
        self.document: dict[str, object] = document
        self.where = where

    def value(self, key: str) -> object:
        if key not in self.document:
            raise EnvelopeError(f"{self.where}.{key}: missing")
        return self.document[key]

    def text(self, key: str) -> str:
        return _text(self.value(key), f"{self.where}.{key}")

    def optional_text(self, key: str) -> str | None:
        value = self.value(key)
        return None if value is None else _text(value, f"{self.where}.{key}")

    def added_optional_text(self, key: str) -> str | None:
        """A key added after version 1: missing means None."""
        return self.optional_text(key) if key in self.document else None

    def integer(self, key: str) -> int:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise EnvelopeError(f"{self.where}.{key}: expected a whole number")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self.value(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EnvelopeError(f"{self.where}.{key}: expected a number")
        try:
            return float(value)
        except OverflowError:
            raise EnvelopeError(f"{self.where}.{key}: number out of range") from None

    def optional_number(self, key: str) -> float | None:
        return None if self.value(key) is None else self.number(key)

    def boolean(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            raise EnvelopeError(f"{self.where}.{key}: expected true or false")
        return value

    def optional_boolean(self, key: str) -> bool:
        """A key added after version 1: missing means false."""
        return key in self.document and self.boolean(key)

    def array(self, key: str) -> list[object]:
        value = self.value(key)
        if not isinstance(value, list):
            raise EnvelopeError(f"{self.where}.{key}: expected an array")
        return value

    def optional_array(self, key: str) -> list[object] | None:
        return None if self.value(key) is None else self.array(key)
