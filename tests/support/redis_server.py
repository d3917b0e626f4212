"""The real Redis for tests (127.0.0.1:6379 on every machine of this project; override
with MAILROOM_TEST_REDIS_URL). Each test gets a key prefix of its own and its keys are
deleted afterwards. A test that cannot reach Redis fails saying so; it never skips."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import redis.asyncio

REDIS_URL = os.environ.get("MAILROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_keys(prefix: str) -> list[str]:
    """The keys under `prefix` now, sorted."""
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        return sorted([key async for key in client.scan_iter(match=f"{prefix}*")])
    finally:
        await client.aclose()


async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix; every key under it is deleted when the iteration ends."""
    prefix = f"mailroom-test:{uuid.uuid4().hex}:"
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as error:
        await client.aclose()
        raise AssertionError(
            f"Redis at {REDIS_URL} is needed ({error}): start it (apt-get install "
            "redis-server) or set MAILROOM_TEST_REDIS_URL"
        ) from None
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
