"""The router's copy of the directory: read once, checked against the directory's version
at most once per refresh interval, read again when it moved."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig, RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import DirectorySnapshot, DirectoryUnavailable, RecipientVerdict, Router
from mailroom.routing.snapshot import SnapshotCache
from tests.support.routing_community import HASH, Clock, MakeRouter, deliveries


async def test_a_new_account_is_routed_after_the_refresh_interval(
    make_router: MakeRouter, directory: Directory, clock: Clock
) -> None:
    router = make_router()
    assert await router.check("dave@example.org") is RecipientVerdict.LOCAL_UNKNOWN
    await directory.add_account("dave@example.org", HASH)

    clock.advance(0.5)
    assert await router.check("dave@example.org") is RecipientVerdict.LOCAL_UNKNOWN
    clock.advance(0.5)
    assert await router.check("dave@example.org") is RecipientVerdict.LOCAL


async def test_removed_alias_and_changed_transport_are_seen(
    make_router: MakeRouter, directory: Directory, clock: Clock
) -> None:
    router = make_router()
    assert await router.check("team@example.org") is RecipientVerdict.LOCAL
    await directory.remove_alias("team@example.org")
    await directory.set_transport("issue.example.org", "[new-tracker.example.org]:2525")
    clock.advance(1)
    assert await router.check("team@example.org") is RecipientVerdict.LOCAL_UNKNOWN
    assert deliveries(await router.expand("t@issue.example.org")) == [
        "relay t@issue.example.org via [new-tracker.example.org]:2525"
    ]


async def test_snapshot_is_kept_while_the_version_is_unchanged(
    directory: Directory, clock: Clock
) -> None:
    cache = SnapshotCache(directory, refresh_interval=1.0, clock=clock)
    first = await cache.get()
    clock.advance(5)
    assert await cache.get() is first
    await directory.add_domain("example.com")
    assert await cache.get() is first  # checked just now: not again before a second passes
    clock.advance(1)
    second = await cache.get()
    assert second is not first
    assert second.version > first.version
    assert second.is_local_domain("example.com")


async def test_invalidate_makes_the_next_get_check(directory: Directory, clock: Clock) -> None:
    cache = SnapshotCache(directory, clock=clock)
    await cache.get()
    await directory.add_domain("example.com")
    cache.invalidate()
    assert (await cache.get()).is_local_domain("example.com")


async def test_snapshot_holds_what_routing_asks(directory: Directory) -> None:
    snapshot = await DirectorySnapshot.load(directory)
    assert snapshot.domains == {"example.org", "example.net"}
    alice = snapshot.account_of("alice.smith@example.org")
    assert alice is not None and alice.address == "alice@example.org"
    carol = snapshot.account_of("carol@example.org")
    assert carol is not None and carol.enabled is False
    assert snapshot.alias_targets("team@example.org") == ("alice@example.org", "bob@example.org")
    assert snapshot.nexthop("lists.example.org") == "[lists.internal.example.org]:25"
    assert snapshot.nexthop("example.org") is None
    assert snapshot.version == await directory.version()


async def test_unreadable_directory_keeps_the_last_snapshot(
    make_router: MakeRouter, tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    router = make_router()
    assert await router.check("alice@example.org") is RecipientVerdict.LOCAL
    # Break the database under the running directory, as a botched manual change would.
    with sqlite3.connect(tmp_path / "directory.sqlite3") as connection:
        connection.execute("ALTER TABLE directory_version RENAME TO broken")
    clock.advance(1)
    with caplog.at_level(logging.WARNING):
        assert await router.check("alice@example.org") is RecipientVerdict.LOCAL
    assert "routing uses the directory as of version" in caplog.text


async def test_unreadable_directory_without_a_snapshot_is_unavailable(
    tmp_path: Path, clock: Clock
) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    directory = await Directory.connect(DirectoryConfig(url=url), tmp_path)
    try:
        router = Router(directory, RoutingConfig(), tmp_path, clock)
        router.load()
        with pytest.raises(DirectoryUnavailable):
            await router.check("alice@example.org")
        with pytest.raises(DirectoryUnavailable):
            await router.expand("alice@example.org")
    finally:
        await directory.close()
