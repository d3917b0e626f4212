"""How many connections may be open at once to one destination (a domain, or a
transport's next hop): Postfix's `default_destination_concurrency_limit`, so one busy
destination neither floods its server nor takes every connection we have."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class DestinationLimits:
    """One semaphore per destination, dropped when nobody holds or waits for it, so the
    table does not grow with every domain ever mailed."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._semaphores: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, destination: str) -> AsyncIterator[None]:
        entry = self._semaphores.get(destination)
        if entry is None:
            entry = (asyncio.Semaphore(self._limit), [0])
            self._semaphores[destination] = entry
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._semaphores[destination]
