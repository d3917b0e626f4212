"""The composition root: builds Mailroom's services from the config and runs them.

Only this module wires packages together; protocols and stores never construct
each other.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mailroom.auth import Authenticator, MemoryThrottle
from mailroom.config import Config, Listener, Protocol
from mailroom.directory import Directory

log = logging.getLogger("mailroom")

ServerStarter = Callable[["Services", Listener], Awaitable["RunningServer"]]


class RunningServer:
    """What a started protocol server gives back: a way to stop it."""

    async def stop(self) -> None:  # pragma: no cover - overridden by each server
        raise NotImplementedError


# Protocol servers that exist in this version, by protocol. Each later issue adds its own.
SERVER_STARTERS: dict[Protocol, ServerStarter] = {}


@dataclass
class Services:
    config: Config
    directory: Directory
    authenticator: Authenticator


def configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.log.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


async def open_directory(config: Config) -> Directory:
    base = config.source.parent if config.source else None
    return await Directory.connect(config.directory, base)


@asynccontextmanager
async def running_services(config: Config, *, migrate: bool) -> AsyncIterator[Services]:
    """Directory and authenticator for `config`, closed on exit."""
    directory = await open_directory(config)
    try:
        if migrate:
            await directory.migrate()
        authenticator = Authenticator(directory, config.auth, MemoryThrottle(config.auth.throttle))
        try:
            yield Services(config, directory, authenticator)
        finally:
            await authenticator.close()
    finally:
        await directory.close()


def describe_listener(listener: Listener) -> str:
    protocol, tls = listener.protocol.value, listener.tls.value
    return f"{listener.name}: {protocol} on {listener.address} (tls {tls})"


async def serve(config: Config, announce: Callable[[str], None]) -> None:
    """Start every listener whose protocol exists in this version; run until SIGINT/SIGTERM."""
    async with running_services(config, migrate=True) as services:
        started: list[RunningServer] = []
        try:
            for listener in config.listeners:
                starter = SERVER_STARTERS.get(listener.protocol)
                if starter is None:
                    announce(
                        f"not yet available in this version, skipped: {describe_listener(listener)}"
                    )
                    continue
                started.append(await starter(services, listener))
                announce(f"listening: {describe_listener(listener)}")
            if not started:
                announce("no listener could be started: this version has no protocol servers yet")
            announce("running; stop with Ctrl-C or SIGTERM")
            await _until_stopped()
        finally:
            for server in reversed(started):
                await server.stop()
    announce("stopped")


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
