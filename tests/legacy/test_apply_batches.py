"""The import's speed without its safety: the directory's batches (one transaction for
many changes, each refused change undone alone) and its bulk operations (`add_accounts`,
`add_addresses`), which must refuse exactly what `add_account`/`add_address` refuse,
item by item, on every backend; and an import of more accounts than one batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.config import DirectoryConfig
from mailroom.directory import (
    AlreadyExists,
    Directory,
    InvalidAddress,
    InvalidValue,
    NotFound,
    UnknownDomain,
)
from mailroom.directory.bulk import NewAccount
from mailroom.legacy import ImportPlan, apply_plan
from mailroom.legacy.apply import BATCH_SIZE
from mailroom.legacy.plan import Action, ActionKind
from tests.support.directories import HASH, everything_in


@pytest.fixture
async def directory(database_url: str, tmp_path: Path) -> AsyncIterator[Directory]:
    """A migrated directory on each backend, with example.org, alice and an alias."""
    directory = await Directory.connect(DirectoryConfig(url=database_url), tmp_path)
    await directory.migrate()
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_address("alice@example.org", "alice.smith@example.org")
    await directory.add_alias("team@example.org", ["alice@example.org"])
    yield directory
    await directory.close()


async def test_add_accounts_refuses_item_by_item_what_add_account_refuses(
    directory: Directory,
) -> None:
    results = await directory.add_accounts(
        [
            NewAccount("bob@example.org", HASH, "Bob"),
            NewAccount("alice@example.org", HASH),
            NewAccount("team@example.org", HASH),
            NewAccount("alice.smith@example.org", HASH),
            NewAccount("carol@elsewhere.example", HASH),
            NewAccount("not an address", HASH),
            NewAccount("dave@example.org", "has spaces"),
            NewAccount("BOB@example.org", HASH),
            NewAccount("erin@example.org", HASH),
        ]
    )
    kinds = [None if r is None else type(r) for r in results]
    assert kinds == [
        None,
        AlreadyExists,
        AlreadyExists,
        AlreadyExists,
        UnknownDomain,
        InvalidAddress,
        InvalidValue,
        AlreadyExists,
        None,
    ]
    assert str(results[1]) == "alice@example.org is already an account"
    assert str(results[2]) == "team@example.org is already an alias"
    assert str(results[3]) == (
        "alice.smith@example.org is already an extra address of alice@example.org"
    )
    assert str(results[4]) == str(UnknownDomain("elsewhere.example"))
    bob = await directory.get_account("bob@example.org")
    assert (bob.display_name, bob.password_hash, bob.enabled) == ("Bob", HASH, True)
    assert {a.address for a in await directory.list_accounts()} == {
        "alice@example.org",
        "bob@example.org",
        "erin@example.org",
    }


async def test_add_addresses_refuses_item_by_item_what_add_address_refuses(
    directory: Directory,
) -> None:
    results = await directory.add_addresses(
        [
            ("alice@example.org", "a@example.org"),
            ("alice@example.org", "team@example.org"),
            ("nobody@example.org", "n@example.org"),
            ("alice@example.org", "a@elsewhere.example"),
            ("alice@example.org", "A@example.org"),
        ]
    )
    kinds = [None if r is None else type(r) for r in results]
    assert kinds == [None, AlreadyExists, NotFound, UnknownDomain, AlreadyExists]
    alice = await directory.get_account("alice@example.org")
    assert alice.extra_addresses == ("a@example.org", "alice.smith@example.org")


async def test_a_refused_change_in_a_batch_is_undone_alone(directory: Directory) -> None:
    async with directory.batch():
        await directory.add_account("bob@example.org", HASH)
        with pytest.raises(AlreadyExists):
            await directory.add_alias("bob@example.org", ["alice@example.org"])
        await directory.add_address("bob@example.org", "robert@example.org")
        # Reads inside the batch see its changes.
        assert (await directory.get_account("bob@example.org")).extra_addresses == (
            "robert@example.org",
        )
    bob = await directory.get_account("bob@example.org")
    assert bob.extra_addresses == ("robert@example.org",)


async def test_a_batch_that_raises_changes_nothing(directory: Directory) -> None:
    before = await everything_in(directory)
    version = await directory.version()
    with pytest.raises(RuntimeError):
        async with directory.batch():
            await directory.add_account("bob@example.org", HASH)
            await directory.add_accounts([NewAccount("carol@example.org", HASH)])
            raise RuntimeError("stop")
    assert await everything_in(directory) == before
    assert await directory.version() == version


async def test_a_batch_bumps_the_version_once(directory: Directory) -> None:
    version = await directory.version()
    async with directory.batch():
        await directory.add_account("bob@example.org", HASH)
        await directory.add_account("carol@example.org", HASH)
    assert await directory.version() == version + 1


async def test_a_plan_of_several_batches_is_made_whole(directory: Directory) -> None:
    count = BATCH_SIZE + BATCH_SIZE // 2
    actions: list[Action] = []
    for index in range(count):
        address = f"user{index}@example.org"
        actions.append(Action(ActionKind.ACCOUNT, address, "", account=HASH))
        actions.append(
            Action(ActionKind.ADDRESS, f"first.user{index}@example.org", "", account=address)
        )
    actions.append(Action(ActionKind.ALIAS, "all@example.org", "", targets=("user0@example.org",)))
    # Refused at apply: the plan did not know alice has it already.
    actions.append(
        Action(ActionKind.ADDRESS, "alice.smith@example.org", "", account="user1@example.org")
    )
    advanced: list[Action] = []
    result = await apply_plan(directory, ImportPlan(tuple(actions), (), 0), advanced.append)

    assert len(advanced) == len(actions)
    assert [(a.subject, reason) for a, reason in result.failed] == [
        (
            "alice.smith@example.org",
            "alice.smith@example.org is already an extra address of alice@example.org",
        )
    ]
    assert len(result.done) == len(actions) - 1
    accounts = {a.address: a for a in await directory.list_accounts()}
    assert len(accounts) == count + 1
    assert accounts[f"user{count - 1}@example.org"].extra_addresses == (
        f"first.user{count - 1}@example.org",
    )
    assert [a.address for a in await directory.list_aliases()] == [
        "all@example.org",
        "team@example.org",
    ]
