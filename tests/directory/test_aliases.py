"""Aliases: addresses that forward to other addresses, local or elsewhere."""

from __future__ import annotations

import pytest

from mailroom.directory import (
    Alias,
    AliasLoop,
    AlreadyExists,
    Directory,
    InUse,
    InvalidAddress,
    InvalidValue,
    NotFound,
    UnknownDomain,
)
from tests.support.directories import HASH, Refused


@pytest.fixture
async def example(directory: Directory) -> Directory:
    """example.org with the accounts alice and bob; example.net, local and empty."""
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_account("bob@example.org", HASH)
    return directory


async def test_alias_forwards_to_local_and_external_addresses(example: Directory) -> None:
    alias = await example.add_alias(
        "Team@Example.org", ["bob@example.org", "Carol@Elsewhere.example", "ALICE@example.org"]
    )
    assert alias == Alias(
        address="team@example.org",
        targets=("alice@example.org", "bob@example.org", "carol@elsewhere.example"),
        send_as=(),
    )
    assert await example.get_alias("TEAM@example.org") == alias


async def test_targets_are_normalised_before_duplicates_are_dropped(example: Directory) -> None:
    alias = await example.add_alias(
        "team@example.org", ["alice@example.org", "Alice@EXAMPLE.org", "alice@example.org."]
    )
    assert alias.targets == ("alice@example.org",)


async def test_alias_may_forward_to_an_extra_address_and_to_another_alias(
    example: Directory,
) -> None:
    await example.add_address("alice@example.org", "a.smith@example.org")
    await example.add_alias("sales@example.org", ["bob@example.org"])
    alias = await example.add_alias("all@example.net", ["a.smith@example.org", "sales@example.org"])
    assert alias.targets == ("a.smith@example.org", "sales@example.org")


async def test_alias_with_malformed_targets_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(InvalidValue, "the alias team@example.org needs at least one target"):
        await example.add_alias("team@example.org", [])
    async with refused(InvalidAddress, "invalid address 'bob': expected local-part@domain"):
        await example.add_alias("team@example.org", ["alice@example.org", "bob"])


async def test_alias_forwarding_to_a_local_address_that_does_not_exist_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "carol@example.org: no such local address; create it first"):
        await example.add_alias("team@example.org", ["alice@example.org", "carol@example.org"])
    async with refused(
        NotFound,
        "carol@example.net, dave@example.org: no such local addresses; create them first",
    ):
        await example.add_alias("team@example.org", ["dave@example.org", "carol@example.net"])


async def test_alias_outside_the_local_domains_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(
        UnknownDomain,
        "unknown domain 'elsewhere.example': add it first with "
        "`mailroom domain add elsewhere.example`",
    ):
        await example.add_alias("team@elsewhere.example", ["alice@example.org"])


async def test_alias_cannot_take_an_address_already_in_use(
    example: Directory, refused: Refused
) -> None:
    await example.add_address("alice@example.org", "a.smith@example.org")
    await example.add_alias("team@example.org", ["alice@example.org"])
    async with refused(AlreadyExists, "alice@example.org is already an account"):
        await example.add_alias("alice@example.org", ["bob@example.org"])
    async with refused(
        AlreadyExists, "a.smith@example.org is already an extra address of alice@example.org"
    ):
        await example.add_alias("a.smith@example.org", ["bob@example.org"])
    async with refused(AlreadyExists, "team@example.org is already an alias"):
        await example.add_alias("Team@example.org", ["bob@example.org"])


async def test_alias_that_forwards_to_itself_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(AliasLoop, "the alias loop@example.org cannot forward to itself"):
        await example.add_alias("loop@example.org", ["alice@example.org", "LOOP@example.org"])


async def test_alias_that_loops_back_through_other_aliases_is_refused(
    example: Directory, refused: Refused
) -> None:
    # b@example.net was an outside address when `a` was made; then example.com became local.
    await example.add_alias("a@example.org", ["b@example.com"])
    await example.add_domain("example.com")
    await example.add_alias("c@example.net", ["a@example.org"])
    async with refused(
        AliasLoop,
        "the alias b@example.com would loop: "
        "b@example.com -> c@example.net -> a@example.org -> b@example.com",
    ):
        await example.add_alias("b@example.com", ["alice@example.org", "c@example.net"])


async def test_alias_reaching_another_alias_twice_is_no_loop(example: Directory) -> None:
    await example.add_alias("sales@example.org", ["bob@example.org"])
    await example.add_alias("support@example.org", ["sales@example.org", "alice@example.org"])
    alias = await example.add_alias("all@example.org", ["sales@example.org", "support@example.org"])
    assert alias.targets == ("sales@example.org", "support@example.org")


async def test_aliases_are_listed_by_address_per_domain_or_all(example: Directory) -> None:
    await example.add_alias("zz@example.org", ["alice@example.org"])
    await example.add_alias("info@example.net", ["bob@example.org"], send_as=["bob@example.org"])
    await example.add_alias("abuse@example.org", ["alice@example.org", "bob@example.org"])
    everything = await example.list_aliases()
    assert [alias.address for alias in everything] == [
        "abuse@example.org",
        "info@example.net",
        "zz@example.org",
    ]
    assert everything[1] == await example.get_alias("info@example.net")
    assert everything[1].send_as == ("bob@example.org",)
    assert [alias.address for alias in await example.list_aliases("EXAMPLE.org")] == [
        "abuse@example.org",
        "zz@example.org",
    ]
    assert await example.list_aliases("example.net") == [everything[1]]


async def test_listing_aliases_of_a_domain_that_is_not_local_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(
        UnknownDomain,
        "unknown domain 'exmaple.org': add it first with `mailroom domain add exmaple.org`",
    ):
        await example.list_aliases("exmaple.org")


async def test_removed_alias_frees_its_address(example: Directory) -> None:
    await example.add_alias("team@example.org", ["alice@example.org"], send_as=["bob@example.org"])
    await example.remove_alias("Team@example.org")
    assert await example.list_aliases() == []
    await example.add_account("team@example.org", HASH)


async def test_alias_another_alias_forwards_to_cannot_be_removed(
    example: Directory, refused: Refused
) -> None:
    await example.add_alias("team@example.org", ["alice@example.org"])
    await example.add_alias("all@example.org", ["team@example.org", "bob@example.org"])
    async with refused(
        InUse,
        "aliases forward to team@example.org: all@example.org; "
        "change or remove those aliases first",
    ):
        await example.remove_alias("team@example.org")


async def test_alias_that_does_not_exist_can_be_neither_got_nor_removed(
    example: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "no alias team@example.org"):
        await example.get_alias("team@example.org")
    async with refused(NotFound, "no alias team@example.org"):
        await example.remove_alias("team@example.org")
