"""Extra addresses: more addresses delivered to one account (the legacy `fullnamealias`)."""

from __future__ import annotations

import pytest

from mailroom.directory import AlreadyExists, Directory, InUse, NotFound, UnknownDomain
from tests.support.directories import HASH, Refused


@pytest.fixture
async def alice(directory: Directory) -> Directory:
    """A directory with example.org, example.net and the account alice@example.org."""
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.add_account("alice@example.org", HASH)
    return directory


async def test_extra_address_in_any_local_domain_reaches_the_account(alice: Directory) -> None:
    account = await alice.add_address("alice@example.org", "Alice.Smith@example.NET")
    assert account.extra_addresses == ("alice.smith@example.net",)
    assert await alice.find_account("alice.smith@example.net") == account


async def test_extra_address_outside_the_local_domains_is_refused(
    alice: Directory, refused: Refused
) -> None:
    async with refused(
        UnknownDomain,
        "unknown domain 'gmail.example': add it first with `mailroom domain add gmail.example`",
    ):
        await alice.add_address("alice@example.org", "alice@gmail.example")


async def test_extra_address_for_nobody_is_refused(alice: Directory, refused: Refused) -> None:
    async with refused(NotFound, "no account bob@example.org"):
        await alice.add_address("bob@example.org", "robert@example.org")


async def test_extra_address_that_is_taken_is_refused_naming_its_holder(
    alice: Directory, refused: Refused
) -> None:
    await alice.add_account("bob@example.org", HASH)
    await alice.add_address("bob@example.org", "robert@example.org")
    await alice.add_alias("team@example.org", ["bob@example.org"])
    async with refused(AlreadyExists, "bob@example.org is already an account"):
        await alice.add_address("alice@example.org", "bob@example.org")
    async with refused(
        AlreadyExists, "robert@example.org is already an extra address of bob@example.org"
    ):
        await alice.add_address("alice@example.org", "Robert@example.org")
    async with refused(AlreadyExists, "team@example.org is already an alias"):
        await alice.add_address("alice@example.org", "team@example.org")


async def test_removed_extra_address_no_longer_reaches_the_account(alice: Directory) -> None:
    await alice.add_address("alice@example.org", "a.smith@example.org")
    await alice.add_address("alice@example.org", "smith@example.org")
    account = await alice.remove_address("A.Smith@example.org")
    assert account.extra_addresses == ("smith@example.org",)
    assert await alice.find_account("a.smith@example.org") is None


async def test_removing_an_address_that_is_not_an_extra_address_is_refused(
    alice: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "no extra address nobody@example.org"):
        await alice.remove_address("nobody@example.org")
    async with refused(NotFound, "alice@example.org is an account, not an extra address"):
        await alice.remove_address("alice@example.org")


async def test_extra_address_an_alias_forwards_to_cannot_be_removed(
    alice: Directory, refused: Refused
) -> None:
    await alice.add_address("alice@example.org", "a.smith@example.org")
    await alice.add_alias("team@example.org", ["a.smith@example.org"])
    async with refused(
        InUse,
        "aliases forward to a.smith@example.org: team@example.org; "
        "change or remove those aliases first",
    ):
        await alice.remove_address("a.smith@example.org")
