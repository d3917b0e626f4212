"""The login throttle of a host with worker processes: one count per host, kept by the
main process.

A throttle per worker would let an attacker spread guesses over the workers (the
kernel hands each connection to whichever accepts first) and get N times the limit.
So the main process owns the one throttle (`MemoryThrottle`, or `RedisThrottle` shared
with other nodes), and a worker's `Authenticator` uses a `RemoteThrottle`: the same
`Throttle` interface, each call a request over the worker's link to the main process,
answered by `ThrottleService`. An attempt reserved in a worker is reserved in the main
process's count, so parallel logins spread over the workers share one budget.

It fails closed: if the main process does not answer within `ANSWER_TIMEOUT`, `reserve`
refuses the login (reason `throttle_unavailable`; the client hears a temporary failure
and may retry), so a throttle that cannot count never lets guesses through uncounted.
A failure that could not be recorded is answered after `UNRECORDED_DELAY`. A worker that
dies with attempts reserved leaves them counted as failures until the window ends.

The frames (sans-I/O functions below) are checked like any input: a known operation,
an IP address, an account name of bounded length, a token and an outcome; answers of
the right types and ranges.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import Literal

from mailroom.auth.throttle import IPAddress, Settlement, Throttle, ThrottleVerdict
from mailroom.ipc import Link, LinkClosed, Message

log = logging.getLogger("mailroom.auth")

THROTTLE = "throttle"
"""The kind of a throttle request frame."""
ANSWER_TIMEOUT = 2.0
"""Seconds a worker waits for the main process before refusing the login."""
UNRECORDED_DELAY = 1.0
"""Seconds a failure that could not be counted is answered after."""
MAX_ACCOUNT = 1024
"""Longest account key (the authenticator cuts what it logs shorter still)."""
MAX_SECONDS = 10.0**9
"""Longest retry-after or delay an answer may carry."""
MAX_REASON = 40
MAX_TOKEN = 64

Operation = Literal["check", "reserve", "settle"]
OPERATIONS: tuple[Operation, ...] = ("check", "reserve", "settle")


class ThrottleFrameError(ValueError):
    """A throttle request or answer that is not one."""


@dataclass(frozen=True)
class ThrottleCall:
    operation: Operation
    ip: IPAddress
    account: str
    token: str = ""
    """settle: the reservation's token."""
    outcome: Settlement = Settlement.VOID
    """settle: how the attempt ended."""

    def frame(self) -> Message:
        frame: Message = {"op": self.operation, "ip": str(self.ip), "account": self.account}
        if self.operation == "settle":
            frame |= {"token": self.token, "outcome": self.outcome.value}
        return frame


def _token(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TOKEN:
        raise ThrottleFrameError("a throttle token is up to 64 letters and digits")
    if value and not (value.isascii() and value.isalnum()):
        raise ThrottleFrameError("a throttle token is up to 64 letters and digits")
    return value


def parse_call(message: Message) -> ThrottleCall:
    operation = message.get("op")
    if operation not in OPERATIONS:
        raise ThrottleFrameError("unknown throttle operation")
    text, account = message.get("ip"), message.get("account")
    if not isinstance(text, str) or len(text) > 64:
        raise ThrottleFrameError("a throttle request needs an IP address")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ThrottleFrameError("a throttle request needs an IP address") from None
    if not isinstance(account, str) or len(account) > MAX_ACCOUNT:
        raise ThrottleFrameError("a throttle request needs an account of at most 1024 characters")
    if operation != "settle":
        return ThrottleCall(operation, ip, account)
    outcome = message.get("outcome")
    if outcome not in {each.value for each in Settlement}:
        raise ThrottleFrameError("a settlement needs an outcome")
    return ThrottleCall(operation, ip, account, _token(message.get("token")), Settlement(outcome))


def _seconds(message: Message, name: str) -> float:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThrottleFrameError(f"a throttle answer needs {name}")
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise ThrottleFrameError(f"a throttle answer's {name} is out of range")
    return float(value)


def verdict_frame(verdict: ThrottleVerdict) -> Message:
    return {
        "allowed": verdict.allowed,
        "retry_after": verdict.retry_after,
        "reason": verdict.reason,
        "token": verdict.token,
    }


def parse_verdict(message: Message) -> ThrottleVerdict:
    allowed, reason = message.get("allowed"), message.get("reason")
    if not isinstance(allowed, bool):
        raise ThrottleFrameError("a throttle answer needs allowed")
    if not isinstance(reason, str) or not reason.isidentifier() or len(reason) > MAX_REASON:
        raise ThrottleFrameError("a throttle answer needs a reason")
    token = _token(message.get("token", ""))
    return ThrottleVerdict(allowed, _seconds(message, "retry_after"), reason, token)


def delay_frame(delay: float) -> Message:
    return {"delay": delay}


def parse_delay(message: Message) -> float:
    return _seconds(message, "delay")


class ThrottleService:
    """The main process's side: answers the workers' throttle requests from its throttle."""

    def __init__(self, throttle: Throttle) -> None:
        self._throttle = throttle

    def serve(self, link: Link) -> None:
        link.answer(THROTTLE, self.answer)

    async def answer(self, message: Message) -> Message:
        call = parse_call(message)
        if call.operation == "check":
            return verdict_frame(await self._throttle.check(call.ip, call.account))
        if call.operation == "reserve":
            return verdict_frame(await self._throttle.reserve(call.ip, call.account))
        delay = await self._throttle.settle(call.ip, call.account, call.token, call.outcome)
        return delay_frame(delay)


class RemoteThrottle:
    """A worker's throttle: the main process's, asked over `link`; fails closed."""

    def __init__(self, link: Link, timeout: float = ANSWER_TIMEOUT) -> None:
        self._link = link
        self._timeout = timeout

    async def _ask(self, call: ThrottleCall) -> Message | None:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._link.request(THROTTLE, call.frame())
        except (LinkClosed, TimeoutError) as error:
            log.warning(
                "throttle: no answer from the main process (%s) to %s for %s",
                error or "timed out",
                call.operation,
                call.ip,
            )
            return None

    async def _verdict(self, call: ThrottleCall) -> ThrottleVerdict:
        answer = await self._ask(call)
        try:
            if answer is not None:
                return parse_verdict(answer)
        except ThrottleFrameError as error:
            log.warning("throttle: a bad answer from the main process: %s", error)
        return ThrottleVerdict(False, UNRECORDED_DELAY, "throttle_unavailable")

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        return await self._verdict(ThrottleCall("check", ip, account))

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        return await self._verdict(ThrottleCall("reserve", ip, account))

    async def settle(self, ip: IPAddress, account: str, token: str, outcome: Settlement) -> float:
        answer = await self._ask(ThrottleCall("settle", ip, account, token, outcome))
        try:
            if answer is not None:
                return parse_delay(answer)
        except ThrottleFrameError as error:
            log.warning("throttle: a bad answer from the main process: %s", error)
        return UNRECORDED_DELAY if outcome is Settlement.FAILURE else 0.0

    async def close(self) -> None:
        return None
