"""Loops, depth and breadth: expansion always ends, drops only what it must, and says why."""

from __future__ import annotations

import logging

import pytest

from mailroom.directory import Directory
from tests.support.routing_community import MakeRouter, deliveries, failures


async def test_loop_in_the_aliases_file_drops_only_the_looping_branch(
    make_router: MakeRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router = make_router(aliases="ping: pong, alice\npong: ping, bob\n")
    with caplog.at_level(logging.WARNING):
        expansion = await router.expand("ping@example.org")
    assert deliveries(expansion) == ["local bob@example.org", "local alice@example.org"]
    assert failures(expansion) == ["loop ping@example.org"]
    assert expansion.failures[0].message == (
        "alias loop: ping@example.org -> pong@example.org -> ping@example.org"
    )
    assert "alias loop: ping@example.org -> pong@example.org -> ping@example.org" in caplog.text


async def test_loop_through_a_sql_alias_and_a_rewrite(make_router: MakeRouter) -> None:
    # team -> alice, bob (SQL); alice -> team (rewrite): alice's branch loops, bob's does not.
    router = make_router(rewrite=r"/^alice@example\.org$/ team@example.org" + "\n")
    expansion = await router.expand("team@example.org")
    assert deliveries(expansion) == ["local bob@example.org"]
    assert failures(expansion) == ["loop team@example.org"]
    assert expansion.failures[0].message == (
        "alias loop: team@example.org -> alice@example.org -> team@example.org"
    )


async def test_sql_alias_into_an_aliases_file_loop(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("desk@example.org", ["root@example.org"])
    router = make_router(
        rewrite=r"/^root@example\.org$/ helpdesk@example.org" + "\n",
        aliases="helpdesk: desk, alice\n",
    )
    expansion = await router.expand("desk@example.org")
    assert deliveries(expansion) == ["local alice@example.org"]
    assert failures(expansion) == ["loop desk@example.org"]


async def test_rewrite_loop_between_two_addresses(make_router: MakeRouter) -> None:
    router = make_router(rewrite="/^a@/ b@example.org\n/^b@/ a@example.org\n")
    expansion = await router.expand("a@example.org")
    assert deliveries(expansion) == []
    assert failures(expansion) == ["loop a@example.org"]


async def test_alias_chain_longer_than_max_depth_fails(make_router: MakeRouter) -> None:
    chain = "".join(f"hop{n}: hop{n + 1}\n" for n in range(1, 6)) + "hop6: alice\n"
    router = make_router(aliases=chain, max_depth=5)
    expansion = await router.expand("hop1@example.org")
    assert deliveries(expansion) == []
    assert failures(expansion) == ["too-deep alice@example.org"]  # six aliases away
    assert "more than 5 aliases in a row (routing.max_depth)" in expansion.failures[0].message
    assert deliveries(await router.expand("hop2@example.org")) == ["local alice@example.org"]


async def test_more_deliveries_than_max_expansion_are_dropped(make_router: MakeRouter) -> None:
    router = make_router(
        aliases="everyone: alice, bob, root, a@elsewhere.example, b@elsewhere.example\n",
        max_expansion=3,
    )
    expansion = await router.expand("everyone@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org",
        "local bob@example.org",
        "local root@example.org",
    ]
    assert failures(expansion) == ["too-many a@elsewhere.example"]


async def test_duplicates_do_not_count_against_max_expansion(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("twice@example.org", ["team@example.org", "alice@example.org"])
    router = make_router(max_expansion=2)
    expansion = await router.expand("twice@example.org")
    assert deliveries(expansion) == ["local alice@example.org", "local bob@example.org"]
    assert failures(expansion) == []


async def test_a_wide_diamond_of_aliases_expands_quickly(make_router: MakeRouter) -> None:
    # Each level leads to the next one along two ways: 2**25 paths, 76 distinct addresses.
    levels = "".join(
        f"l{n}: left{n}, right{n}\nleft{n}: l{n + 1}\nright{n}: l{n + 1}\n" for n in range(25)
    )
    router = make_router(aliases=levels + "l25: alice\n", max_depth=60)
    expansion = await router.expand("l0@example.org")
    assert deliveries(expansion) == ["local alice@example.org"]
    assert failures(expansion) == []
