"""The login bans of a host without Redis, kept in a file in the data directory, so a
restart (or a crash) does not give an attacker a fresh budget.

`login-bans.json` holds the bans in force when it was written: banned client networks
and locked accounts (with the addresses that may still log in to them), each with the
wall-clock time it ends. It is written whole, to a temporary file that is fsynced and
renamed over the old one (`mailroom.durable`), so a reader sees the old or the new
file, never half of one; mode 0600 (it names who was attacked and from where).

Writing happens in a thread, off the event loop, as soon as a ban is made; bans made
while a write runs are written together right after it (one write in flight at most).
Reading trusts nothing: the file is bounded in size, every entry is checked (a network,
an account of bounded length, a finite time), bad entries are skipped and logged, and
at most `MAX_ENTRIES` of each kind are taken. A missing file is no bans.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.durable import fsync_directory

log = logging.getLogger("mailroom.auth")

BAN_FILE = "login-bans.json"
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are not read (100,000 bans of each kind take about 10 MB)."""
MAX_ENTRIES = 100_000
"""Bans of each kind taken from the file at most (the throttle's own MAX_TRACKED)."""
MAX_ACCOUNT = 1024
MAX_FAMILIAR = 16
VERSION = 1


class BanFileError(ValueError):
    """The ban file is not one (the message says why)."""


@dataclass(frozen=True)
class LockedAccount:
    until: float
    """Wall-clock time (seconds since the epoch) the lock ends."""
    familiar: list[str] = field(default_factory=list)
    """Networks that logged in to the account before: the lock does not hold for them."""


@dataclass(frozen=True)
class BanSnapshot:
    ips: dict[str, float] = field(default_factory=dict)
    """Client network (`203.0.113.9/32`, `2001:db8::/64`) -> wall-clock end of its ban."""
    accounts: dict[str, LockedAccount] = field(default_factory=dict)


def encode_bans(snapshot: BanSnapshot) -> bytes:
    document = {
        "version": VERSION,
        "ips": snapshot.ips,
        "accounts": {
            name: {"until": locked.until, "familiar": locked.familiar}
            for name, locked in snapshot.accounts.items()
        },
    }
    return json.dumps(document, sort_keys=True).encode("utf-8")


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range (JSON has no bound)
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _network(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_network(value))
    except ValueError:
        return None


def parse_bans(data: bytes) -> tuple[BanSnapshot, int]:
    """The bans in a file's bytes, and how many entries were skipped as malformed.
    Raises BanFileError when the whole is no ban file."""
    if len(data) > MAX_FILE_BYTES:
        raise BanFileError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise BanFileError("not JSON") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise BanFileError(f"not a version {VERSION} ban file")
    ips_in, accounts_in = document.get("ips", {}), document.get("accounts", {})
    if not isinstance(ips_in, dict) or not isinstance(accounts_in, dict):
        raise BanFileError("ips and accounts must be tables")
    skipped = 0
    ips: dict[str, float] = {}
    for text, until in ips_in.items():
        network, when = _network(text), _time(until)
        if network is None or when is None or len(ips) >= MAX_ENTRIES:
            skipped += 1
            continue
        ips[network] = when
    accounts: dict[str, LockedAccount] = {}
    for name, entry in accounts_in.items():
        when = _time(entry.get("until")) if isinstance(entry, dict) else None
        familiar = entry.get("familiar", []) if isinstance(entry, dict) else None
        if (
            when is None
            or not isinstance(familiar, list)
            or not 0 < len(name) <= MAX_ACCOUNT
            or len(accounts) >= MAX_ENTRIES
        ):
            skipped += 1
            continue
        networks = [n for n in map(_network, familiar[:MAX_FAMILIAR]) if n is not None]
        accounts[name] = LockedAccount(when, networks)
    return BanSnapshot(ips, accounts), skipped


class BanFile:
    """`login-bans.json` in `directory`: read once at start, written after each ban."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / BAN_FILE
        self._writing: asyncio.Task[None] | None = None
        self._again: Callable[[], BanSnapshot] | None = None

    def load(self) -> BanSnapshot:
        """The bans the file holds; none if it is missing or unusable (logged)."""
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return BanSnapshot()
        except OSError as error:
            log.warning(
                "throttle: cannot read %s (%s): starting without its bans", self.path, error
            )
            return BanSnapshot()
        try:
            snapshot, skipped = parse_bans(data)
        except BanFileError as error:
            log.warning(
                "throttle: %s is unusable (%s): starting without its bans", self.path, error
            )
            return BanSnapshot()
        if skipped:
            log.warning("throttle: %s: %d malformed entries skipped", self.path, skipped)
        log.info(
            "throttle: %d address bans and %d account locks read from %s",
            len(snapshot.ips),
            len(snapshot.accounts),
            self.path,
        )
        return snapshot

    def save_soon(self, snapshot: Callable[[], BanSnapshot]) -> None:
        """Write `snapshot()` now, in a thread; or, if a write runs, right after it."""
        if self._writing is not None and not self._writing.done():
            self._again = snapshot
            return
        self._writing = asyncio.get_running_loop().create_task(self._write_loop(snapshot))

    async def flush(self) -> None:
        """Wait for the writes asked for so far."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing

    async def _write_loop(self, snapshot: Callable[[], BanSnapshot]) -> None:
        next_snapshot: Callable[[], BanSnapshot] | None = snapshot
        while next_snapshot is not None:
            self._again = None
            data = encode_bans(next_snapshot())
            try:
                await asyncio.to_thread(self.write, data)
            except OSError as error:
                log.error("throttle: cannot write %s (%s): bans not kept", self.path, error)
            next_snapshot = self._again

    def write(self, data: bytes) -> None:
        """Replace the file by `data` atomically and durably (blocking)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        fsync_directory(self.path.parent)
