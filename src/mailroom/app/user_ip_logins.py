"""`[imap] max_connections_per_user_ip` (Dovecot's mail_max_userip_connections) for a
host with worker processes: one count per host, kept by the main process.

The main process counts connections as it hands them out (net/handoff.py), but which
account a session belongs to is known only after its LOGIN, in the worker. A count per
worker would let a client with N workers hold N times the limit (the least busy worker
takes each connection), so a worker's IMAP sessions use a `RemoteLoginCounts`: the same
`started`/`ended` as `imap.login_counts.LoginCounts`, `started` a request over the
worker's link answered by the main process's `LoginCountService`, `ended` a one-way
frame. Each counted login has a ticket (a number of the worker's), so an end frees
exactly the login it ends, and a login whose answer came late is still freed.

If the main process does not answer within `ANSWER_TIMEOUT`, the login is let through
(logged): this cap spares the host's resources, it guards no password (the login
throttle, which does, fails closed: auth/remote_throttle.py). The login's ticket is
still ended, so a count the main process made meanwhile is not left behind. A worker
that dies takes its logins with it (`forget`).

The frames (sans-I/O functions below) are checked like any input from another process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
from collections import Counter
from dataclasses import dataclass

from mailroom.ipc import Link, LinkClosed, Message
from mailroom.net import IPAddress

log = logging.getLogger("mailroom.workers")

LOGIN = "login"
"""The kind of the request a worker sends when a session logs in."""
LOGOUT = "logout"
"""The kind of the one-way frame a worker sends when logged-in sessions end."""
ANSWER_TIMEOUT = 2.0
"""Seconds a worker waits for the main process before letting the login through."""
MAX_ACCOUNT = 1024
MAX_TICKET = 2**53
MAX_TICKETS = 1000
"""Tickets in one logout frame at most."""


class LoginFrameError(ValueError):
    """A login or logout frame, or an answer, that is not one."""


@dataclass(frozen=True)
class LoginStart:
    """A session of `account` from `address` logged in; counted under `ticket`."""

    ticket: int
    account: str
    address: IPAddress

    def frame(self) -> Message:
        return {"ticket": self.ticket, "account": self.account, "ip": str(self.address)}


def _ticket(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_TICKET:
        raise LoginFrameError("a login ticket is a positive integer below 2**53")
    return value


def parse_login(message: Message) -> LoginStart:
    """The login of a login request; LoginFrameError if it is not one."""
    account = message.get("account")
    if not isinstance(account, str) or not 0 < len(account) <= MAX_ACCOUNT:
        raise LoginFrameError(f"a login's account is 1 to {MAX_ACCOUNT} characters")
    if "\x00" in account:
        raise LoginFrameError("a login's account holds a NUL")
    ip = message.get("ip")
    if not isinstance(ip, str) or len(ip) > 64:
        raise LoginFrameError("a login's ip is an IP address")
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise LoginFrameError("a login's ip is an IP address") from None
    return LoginStart(_ticket(message.get("ticket")), account, address)


def parse_allowed(message: Message) -> bool:
    """The main process's answer to a login request; LoginFrameError if it is none."""
    allowed = message.get("allowed")
    if not isinstance(allowed, bool):
        raise LoginFrameError("a login answer says allowed true or false")
    return allowed


def logout_frame(tickets: list[int]) -> Message:
    return {"k": LOGOUT, "tickets": tickets}


def parse_logout(message: Message) -> list[int]:
    """The tickets of a logout frame; LoginFrameError if it is not one."""
    tickets = message.get("tickets")
    if not isinstance(tickets, list) or not 0 < len(tickets) <= MAX_TICKETS:
        raise LoginFrameError(f"a logout frame has 1 to {MAX_TICKETS} tickets")
    return [_ticket(ticket) for ticket in tickets]


class RemoteLoginCounts:
    """A worker's counts: asks the main process (see the module's docstring)."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._tickets = itertools.count(1)
        self._open: dict[tuple[str, IPAddress], list[int]] = {}

    async def started(self, account: str, address: IPAddress) -> bool:
        """Count a logged-in session for the host; False when the account has too many
        from `address` (on every worker together)."""
        login = LoginStart(next(self._tickets), account, address)
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                answer = await self._link.request(LOGIN, login.frame())
            allowed = parse_allowed(answer)
        except (LinkClosed, TimeoutError, LoginFrameError) as error:
            log.warning(
                "logins of %.80s from %s not counted by the main process (%s): let through",
                account,
                address,
                error or type(error).__name__,
            )
            allowed = True
        if allowed:
            self._open.setdefault((account, address), []).append(login.ticket)
        return allowed

    def ended(self, account: str, address: IPAddress) -> None:
        tickets = self._open.get((account, address))
        if not tickets:
            return
        ticket = tickets.pop()
        if not tickets:
            del self._open[account, address]
        self._link.send(logout_frame([ticket]))


class LoginCountService:
    """The main process's side: the host's logged-in sessions per (account, address)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: Counter[tuple[str, IPAddress]] = Counter()
        self._by_link: dict[Link, dict[int, tuple[str, IPAddress]]] = {}

    def serve(self, link: Link) -> None:
        """Answer this worker's login requests and hear its logouts."""
        self._by_link[link] = {}
        link.answer(LOGIN, lambda message: self._login(link, message))
        link.on(LOGOUT, lambda message: self._logout(link, message))

    def forget(self, link: Link) -> None:
        """The worker is gone: its sessions went with it."""
        for key in self._by_link.pop(link, {}).values():
            self._release(key)

    def count(self, account: str, address: IPAddress) -> int:
        return self._counts[account, address]

    async def _login(self, link: Link, message: Message) -> Message:
        login = parse_login(message)  # a LoginFrameError is answered as an error
        tickets = self._by_link.get(link)
        if tickets is None:  # a worker already forgotten
            return {"allowed": False}
        if login.ticket in tickets:
            raise LoginFrameError("a login ticket used twice")
        key = (login.account, login.address)
        if self._counts[key] >= self.limit:
            return {"allowed": False}
        self._counts[key] += 1
        tickets[login.ticket] = key
        return {"allowed": True}

    def _logout(self, link: Link, message: Message) -> None:
        try:
            ended = parse_logout(message)
        except LoginFrameError as error:
            log.error("%s: closed after a bad logout frame: %s", link.name, error)
            link.close()
            return
        tickets = self._by_link.get(link, {})
        for ticket in ended:
            key = tickets.pop(ticket, None)
            if key is not None:
                self._release(key)

    def _release(self, key: tuple[str, IPAddress]) -> None:
        self._counts[key] -= 1
        if self._counts[key] <= 0:
            del self._counts[key]
