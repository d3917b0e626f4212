"""Send-as: which sender addresses an account may use when it submits mail."""

from __future__ import annotations

import pytest

from mailroom.directory import AlreadyExists, Directory, NotFound
from tests.support.directories import HASH, Refused


@pytest.fixture
async def example(directory: Directory) -> Directory:
    """example.org with alice (also a.smith@) and bob, and the alias team@ forwarding to both."""
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_address("alice@example.org", "a.smith@example.org")
    await directory.add_account("bob@example.org", HASH)
    await directory.add_alias("team@example.org", ["alice@example.org", "bob@example.org"])
    return directory


async def test_account_may_send_as_its_own_addresses_only(example: Directory) -> None:
    assert await example.may_send_as("alice@example.org", "Alice@example.org")
    assert await example.may_send_as("alice@example.org", "a.smith@example.org")
    assert not await example.may_send_as("alice@example.org", "bob@example.org")
    assert not await example.may_send_as("bob@example.org", "a.smith@example.org")


async def test_receiving_an_alias_does_not_allow_sending_as_it(example: Directory) -> None:
    assert not await example.may_send_as("alice@example.org", "team@example.org")


async def test_granted_account_may_send_as_the_alias(example: Directory) -> None:
    alias = await example.grant_send_as("Team@example.org", "Bob@example.org")
    assert alias.send_as == ("bob@example.org",)
    assert await example.may_send_as("bob@example.org", "team@example.org")
    assert not await example.may_send_as("alice@example.org", "team@example.org")


async def test_grants_given_with_the_alias_count_too(example: Directory) -> None:
    alias = await example.add_alias(
        "sales@example.org", ["bob@example.org"], send_as=["bob@example.org", "alice@example.org"]
    )
    assert alias.send_as == ("alice@example.org", "bob@example.org")
    assert await example.may_send_as("alice@example.org", "sales@example.org")


async def test_revoked_grant_no_longer_allows_sending_as_the_alias(example: Directory) -> None:
    await example.grant_send_as("team@example.org", "bob@example.org")
    await example.grant_send_as("team@example.org", "alice@example.org")
    alias = await example.revoke_send_as("team@example.org", "bob@example.org")
    assert alias.send_as == ("alice@example.org",)
    assert not await example.may_send_as("bob@example.org", "team@example.org")


async def test_nobody_and_nonsense_may_send_as_nothing(example: Directory) -> None:
    assert not await example.may_send_as("nobody@example.org", "nobody@example.org")
    assert not await example.may_send_as("alice@example.org", "<>")
    assert not await example.may_send_as("alice", "alice@example.org")


async def test_grant_naming_something_that_does_not_exist_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "no account carol@example.org"):
        await example.grant_send_as("team@example.org", "carol@example.org")
    async with refused(
        NotFound,
        "a.smith@example.org is an extra address of alice@example.org, "
        "not an account's primary address",
    ):
        await example.grant_send_as("team@example.org", "a.smith@example.org")
    async with refused(NotFound, "no alias sales@example.org"):
        await example.grant_send_as("sales@example.org", "bob@example.org")
    async with refused(NotFound, "no alias alice@example.org"):
        await example.grant_send_as("alice@example.org", "bob@example.org")


async def test_grant_at_alias_creation_to_an_address_that_is_not_an_account_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(
        NotFound, "team@example.org is not an account; only accounts may send as sales@example.org"
    ):
        await example.add_alias(
            "sales@example.org", ["bob@example.org"], send_as=["team@example.org"]
        )


async def test_granting_twice_is_refused(example: Directory, refused: Refused) -> None:
    await example.grant_send_as("team@example.org", "bob@example.org")
    async with refused(AlreadyExists, "bob@example.org may already send as team@example.org"):
        await example.grant_send_as("team@example.org", "bob@example.org")


async def test_revoking_a_grant_that_was_never_given_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "bob@example.org has no grant to send as team@example.org"):
        await example.revoke_send_as("team@example.org", "bob@example.org")
    async with refused(NotFound, "no alias sales@example.org"):
        await example.revoke_send_as("sales@example.org", "bob@example.org")
    async with refused(NotFound, "no account carol@example.org"):
        await example.revoke_send_as("team@example.org", "carol@example.org")
