"""Routing over each SQL backend: the same community, the same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.config import RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import RecipientVerdict, Router
from tests.support.routing_community import (
    HASH,
    Clock,
    deliveries,
    failures,
    open_directory,
    populate,
    write,
)


@pytest.fixture
async def any_directory(database_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    directory = await open_directory(database_url, tmp_path)
    yield await populate(directory)
    await directory.close()


async def test_routing_answers_alike_on_every_backend(
    any_directory: Directory, tmp_path: Path
) -> None:
    write(tmp_path, "aliases", "postmaster: root\n")
    write(tmp_path, "bcc", "team@example.org root@example.net\n")
    clock = Clock()
    config = RoutingConfig(aliases_file=Path("aliases"), recipient_bcc_maps=[Path("bcc")])
    router = Router(any_directory, config, tmp_path, clock)
    router.load()

    assert await router.check("alice.smith@example.org") is RecipientVerdict.LOCAL
    assert await router.check("nobody@example.org") is RecipientVerdict.LOCAL_UNKNOWN
    assert await router.check("x@lists.example.org") is RecipientVerdict.RELAY
    assert await router.check("x@elsewhere.example") is RecipientVerdict.REMOTE
    expansion = await router.expand("team+notes@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org detail=notes",
        "local bob@example.org detail=notes",
        "local root@example.net bcc",
    ]
    assert deliveries(await router.expand("postmaster@example.net")) == ["local root@example.net"]
    assert failures(await router.expand("nobody@example.org")) == ["unknown nobody@example.org"]

    await any_directory.add_account("dave@example.org", HASH)
    clock.advance(1)
    assert deliveries(await router.expand("dave@example.org")) == ["local dave@example.org"]
