"""Local domains: the domains whose mail this host keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailroom.directory import (
    AlreadyExists,
    Directory,
    InUse,
    InvalidAddress,
    NotFound,
)
from tests.support.directories import HASH, Refused


async def test_domain_is_stored_lower_case_without_trailing_dot(directory: Directory) -> None:
    domain = await directory.add_domain("Example.ORG.")
    assert domain.name == "example.org"
    assert [d.name for d in await directory.list_domains()] == ["example.org"]


async def test_internationalised_domain_is_stored_as_a_labels(directory: Directory) -> None:
    assert (await directory.add_domain("Bücher.example")).name == "xn--bcher-kva.example"
    assert await directory.is_local_domain("bücher.example")


async def test_domains_are_listed_by_name(directory: Directory) -> None:
    for name in ("zeta.example", "alpha.example", "mid-dle.example"):
        await directory.add_domain(name)
    names = [d.name for d in await directory.list_domains()]
    assert names == ["alpha.example", "mid-dle.example", "zeta.example"]


async def test_creation_time_is_utc_and_reads_back_as_written(directory: Directory) -> None:
    before = datetime.now(UTC)
    added = await directory.add_domain("example.org")
    assert added.created.tzinfo is not None
    assert before - timedelta(seconds=1) <= added.created <= datetime.now(UTC)
    assert await directory.list_domains() == [added]


async def test_adding_a_domain_twice_is_refused(directory: Directory, refused: Refused) -> None:
    await directory.add_domain("example.org")
    async with refused(AlreadyExists, "example.org is already a local domain"):
        await directory.add_domain("EXAMPLE.org")


async def test_a_name_that_is_not_a_domain_is_refused(
    directory: Directory, refused: Refused
) -> None:
    async with refused(
        InvalidAddress,
        "invalid address 'localhost': the domain needs at least two labels, like example.org",
    ):
        await directory.add_domain("localhost")


async def test_removed_domain_is_no_longer_local(directory: Directory) -> None:
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.remove_domain("Example.ORG")
    assert not await directory.is_local_domain("example.org")
    assert [d.name for d in await directory.list_domains()] == ["example.net"]


async def test_removing_a_domain_that_is_not_local_is_refused(
    directory: Directory, refused: Refused
) -> None:
    async with refused(NotFound, "nowhere.example is not a local domain"):
        await directory.remove_domain("nowhere.example")


async def test_domain_still_holding_addresses_cannot_be_removed(
    directory: Directory, refused: Refused
) -> None:
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_account("bob@example.org", HASH)
    await directory.add_address("alice@example.org", "a.smith@example.org")
    await directory.add_alias("team@example.org", ["alice@example.org", "bob@example.org"])
    async with refused(
        InUse, "example.org still has 2 accounts, 1 extra address, 1 alias; remove them first"
    ):
        await directory.remove_domain("example.org")


async def test_an_extra_address_alone_keeps_its_domain(
    directory: Directory, refused: Refused
) -> None:
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_address("alice@example.org", "alice@example.net")
    async with refused(InUse, "example.net still has 1 extra address; remove them first"):
        await directory.remove_domain("example.net")


async def test_is_local_domain_ignores_case_and_answers_no_to_nonsense(
    directory: Directory,
) -> None:
    await directory.add_domain("example.org")
    assert await directory.is_local_domain("EXAMPLE.org.")
    assert not await directory.is_local_domain("example.net")
    assert not await directory.is_local_domain("not a domain")
