"""Accounts: a primary address (the login name), a password hash, a quota, on or off."""

from __future__ import annotations

import pytest

from mailroom.directory import (
    Account,
    AlreadyExists,
    Directory,
    InUse,
    InvalidAddress,
    InvalidValue,
    NotFound,
    UnknownDomain,
)
from tests.support.directories import HASH, Refused

NEW_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g"


@pytest.fixture
async def example(directory: Directory) -> Directory:
    """A directory with the local domains example.org and example.net."""
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    return directory


async def test_new_account_has_what_it_was_given(example: Directory) -> None:
    account = await example.add_account(
        "Alice@Example.ORG", HASH, display_name="Alice Smith", quota_bytes=5 * 2**40
    )
    assert account.address == "alice@example.org"
    assert (account.display_name, account.password_hash) == ("Alice Smith", HASH)
    assert (account.quota_bytes, account.enabled, account.extra_addresses) == (5 * 2**40, True, ())
    assert await example.get_account("alice@example.org") == account


async def test_new_account_defaults_to_unlimited_enabled_and_unnamed(example: Directory) -> None:
    account = await example.add_account("bob@example.org", HASH)
    assert (account.display_name, account.quota_bytes, account.enabled) == ("", None, True)


async def test_account_may_start_disabled_with_a_zero_quota(example: Directory) -> None:
    account = await example.add_account("carol@example.org", HASH, quota_bytes=0, enabled=False)
    assert (await example.get_account("carol@example.org")) == account
    assert (account.quota_bytes, account.enabled) == (0, False)


async def test_non_ascii_local_part_is_kept_apart_from_its_ascii_lookalike(
    example: Directory,
) -> None:
    await example.add_account("josé@example.org", HASH)
    await example.add_account("jose@example.org", HASH)
    assert (await example.get_account("JOSÉ@example.org")).address == "josé@example.org"
    addresses = [account.address for account in await example.list_accounts()]
    assert addresses == ["jose@example.org", "josé@example.org"]


async def test_account_in_a_domain_that_is_not_local_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(
        UnknownDomain,
        "unknown domain 'elsewhere.example': add it first with "
        "`mailroom domain add elsewhere.example`",
    ):
        await example.add_account("alice@elsewhere.example", HASH)


async def test_account_cannot_take_an_address_already_in_use(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_address("alice@example.org", "a.smith@example.org")
    await example.add_alias("postmaster@example.org", ["root@elsewhere.example"])
    async with refused(AlreadyExists, "alice@example.org is already an account"):
        await example.add_account("ALICE@example.org", HASH)
    async with refused(
        AlreadyExists, "a.smith@example.org is already an extra address of alice@example.org"
    ):
        await example.add_account("a.smith@example.org", HASH)
    async with refused(AlreadyExists, "postmaster@example.org is already an alias"):
        await example.add_account("postmaster@example.org", HASH)


async def test_account_with_a_malformed_value_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(InvalidAddress, "invalid address 'alice': expected local-part@domain"):
        await example.add_account("alice", HASH)
    bad_quotas = {
        -1: "the quota must be between 0 and 9223372036854775807 bytes, not -1",
        2**63: f"the quota must be between 0 and 9223372036854775807 bytes, not {2**63}",
        True: "the quota must be a whole number of bytes, or none for unlimited",
    }
    for quota, message in bad_quotas.items():
        async with refused(InvalidValue, message):
            await example.add_account("alice@example.org", HASH, quota_bytes=quota)
    bad_hashes = {
        "": "the password hash is empty; store '!' to allow no password",
        "$6$salt$has h": "a password hash is printable ASCII without spaces",
        "$6$salt$hash\n": "a password hash is printable ASCII without spaces",
        "x" * 513: "the password hash is longer than 512 characters",
    }
    for password_hash, message in bad_hashes.items():
        async with refused(InvalidValue, message):
            await example.add_account("alice@example.org", password_hash)
    async with refused(InvalidValue, "the display name contains line breaks or control characters"):
        await example.add_account("alice@example.org", HASH, display_name="Alice\r\nBcc: x")


async def test_getting_an_account_that_does_not_exist_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "no account nobody@example.org"):
        await example.get_account("nobody@example.org")


async def test_getting_an_account_by_its_extra_address_says_whose_it_is(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_address("alice@example.org", "a.smith@example.org")
    async with refused(
        NotFound,
        "a.smith@example.org is an extra address of alice@example.org, "
        "not an account's primary address",
    ):
        await example.get_account("a.smith@example.org")


async def test_find_account_answers_for_primary_and_extra_addresses(example: Directory) -> None:
    alice = await example.add_account("alice@example.org", HASH)
    alice = await example.add_address("alice@example.org", "a.smith@example.org")
    assert await example.find_account("Alice@example.org") == alice
    assert await example.find_account("A.Smith@example.org") == alice


async def test_find_account_answers_none_for_aliases_strangers_and_nonsense(
    example: Directory,
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_alias("team@example.org", ["alice@example.org"])
    assert await example.find_account("team@example.org") is None
    assert await example.find_account("bob@example.org") is None
    assert await example.find_account("not an address") is None


async def test_accounts_are_listed_by_address_with_their_extra_addresses_sorted(
    example: Directory,
) -> None:
    await example.add_account("zoe@example.org", HASH)
    await example.add_account("alice@example.org", HASH)
    await example.add_address("alice@example.org", "smith@example.org")
    await example.add_address("alice@example.org", "alice@example.net")
    listed = await example.list_accounts()
    assert [account.address for account in listed] == ["alice@example.org", "zoe@example.org"]
    assert listed[0].extra_addresses == ("alice@example.net", "smith@example.org")
    assert listed[0] == await example.get_account("alice@example.org")


async def test_accounts_are_listed_per_domain_of_their_primary_address(
    example: Directory,
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_address("alice@example.org", "alice@example.net")
    await example.add_account("bob@example.net", HASH)
    in_net = await example.list_accounts("EXAMPLE.net")
    assert [account.address for account in in_net] == ["bob@example.net"]
    in_org = await example.list_accounts("example.org")
    assert in_org[0].extra_addresses == ("alice@example.net",)


async def test_listing_accounts_of_a_domain_that_is_not_local_is_refused(
    example: Directory, refused: Refused
) -> None:
    async with refused(
        UnknownDomain,
        "unknown domain 'exmaple.org': add it first with `mailroom domain add exmaple.org`",
    ):
        await example.list_accounts("exmaple.org")


async def test_new_password_hash_replaces_the_old(example: Directory) -> None:
    await example.add_account("alice@example.org", HASH)
    assert await example.set_password_hash("alice@example.org", NEW_HASH)
    assert (await example.get_account("alice@example.org")).password_hash == NEW_HASH


async def test_hash_upgrade_at_login_succeeds_when_nobody_changed_the_hash_meanwhile(
    example: Directory,
) -> None:
    await example.add_account("alice@example.org", "$1$legacy$md5crypthash")
    stored = await example.set_password_hash(
        "alice@example.org", NEW_HASH, expected_old="$1$legacy$md5crypthash"
    )
    assert stored
    assert (await example.get_account("alice@example.org")).password_hash == NEW_HASH


async def test_hash_upgrade_at_login_does_not_undo_a_concurrent_passwd(
    example: Directory,
) -> None:
    await example.add_account("alice@example.org", "$1$legacy$md5crypthash")
    await example.set_password_hash("alice@example.org", "$6$chosen$bythepasswdcommand")
    version = await example.version()
    stored = await example.set_password_hash(
        "alice@example.org", NEW_HASH, expected_old="$1$legacy$md5crypthash"
    )
    assert not stored
    account = await example.get_account("alice@example.org")
    assert account.password_hash == "$6$chosen$bythepasswdcommand"
    assert await example.version() == version


async def test_compare_and_set_is_exact_about_the_old_hash(example: Directory) -> None:
    # MariaDB's collations ignore trailing spaces when comparing; the check must not.
    await example.add_account("alice@example.org", HASH)
    assert not await example.set_password_hash(
        "alice@example.org", NEW_HASH, expected_old=HASH + " "
    )
    assert await example.set_password_hash("alice@example.org", HASH, expected_old=HASH)


async def test_setting_a_malformed_password_hash_is_refused(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH)
    async with refused(InvalidValue, "a password hash is printable ASCII without spaces"):
        await example.set_password_hash("alice@example.org", "new password")


async def test_disabled_account_keeps_everything_else(example: Directory) -> None:
    before = await example.add_account("alice@example.org", HASH, quota_bytes=100)
    after = await example.set_enabled("alice@example.org", False)
    assert after == Account(**{**before.__dict__, "enabled": False})
    assert (await example.set_enabled("alice@example.org", True)) == before


async def test_update_changes_only_what_is_given(example: Directory) -> None:
    await example.add_account("alice@example.org", HASH, display_name="Alice", quota_bytes=100)
    renamed = await example.update_account("alice@example.org", display_name="Alice Smith")
    assert (renamed.display_name, renamed.quota_bytes) == ("Alice Smith", 100)
    bigger = await example.update_account("alice@example.org", quota_bytes=200)
    assert (bigger.display_name, bigger.quota_bytes) == ("Alice Smith", 200)
    unlimited = await example.update_account("alice@example.org", clear_quota=True)
    assert (unlimited.display_name, unlimited.quota_bytes) == ("Alice Smith", None)
    assert await example.get_account("alice@example.org") == unlimited


async def test_update_with_nothing_to_change_changes_nothing(example: Directory) -> None:
    account = await example.add_account("alice@example.org", HASH)
    version = await example.version()
    assert await example.update_account("alice@example.org") == account
    assert await example.version() == version


async def test_update_with_a_malformed_value_is_refused(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH, quota_bytes=100)
    async with refused(InvalidValue, "give a quota or clear it, not both"):
        await example.update_account("alice@example.org", quota_bytes=5, clear_quota=True)
    async with refused(
        InvalidValue, "the quota must be between 0 and 9223372036854775807 bytes, not -5"
    ):
        await example.update_account("alice@example.org", display_name="A", quota_bytes=-5)
    async with refused(InvalidValue, "the display name is longer than 255 characters"):
        await example.update_account("alice@example.org", display_name="A" * 256)


async def test_removed_account_takes_its_extra_addresses_and_grants_with_it(
    example: Directory,
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_account("bob@example.org", HASH)
    await example.add_address("alice@example.org", "a.smith@example.org")
    await example.add_alias(
        "sales@example.org", ["bob@example.org"], send_as=["alice@example.org", "bob@example.org"]
    )
    await example.remove_account("alice@example.org")
    assert await example.find_account("alice@example.org") is None
    assert await example.find_account("a.smith@example.org") is None
    assert (await example.get_alias("sales@example.org")).send_as == ("bob@example.org",)
    # The freed addresses can be used again.
    await example.add_account("a.smith@example.org", HASH)


async def test_account_an_alias_forwards_to_cannot_be_removed(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_alias("team@example.org", ["alice@example.org"])
    await example.add_alias("all@example.org", ["alice@example.org", "team@example.org"])
    async with refused(
        InUse,
        "aliases forward to alice@example.org or its extra addresses: "
        "all@example.org, team@example.org; change or remove those aliases first",
    ):
        await example.remove_account("alice@example.org")


async def test_account_whose_extra_address_an_alias_forwards_to_cannot_be_removed(
    example: Directory, refused: Refused
) -> None:
    await example.add_account("alice@example.org", HASH)
    await example.add_address("alice@example.org", "a.smith@example.org")
    await example.add_alias("team@example.org", ["a.smith@example.org"])
    async with refused(
        InUse,
        "aliases forward to alice@example.org or its extra addresses: "
        "team@example.org; change or remove those aliases first",
    ):
        await example.remove_account("alice@example.org")


async def test_changing_an_account_that_does_not_exist_is_refused(
    example: Directory, refused: Refused
) -> None:
    await example.add_alias("team@example.org", ["someone@elsewhere.example"])
    async with refused(NotFound, "no account nobody@example.org"):
        await example.set_password_hash("nobody@example.org", NEW_HASH)
    async with refused(NotFound, "no account nobody@example.org"):
        await example.set_enabled("nobody@example.org", False)
    async with refused(NotFound, "no account nobody@example.org"):
        await example.update_account("nobody@example.org", display_name="Nobody")
    async with refused(NotFound, "team@example.org is an alias, not an account's primary address"):
        await example.remove_account("team@example.org")
