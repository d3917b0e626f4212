"""App passwords on every engine: made for an account, found only with its own account,
revoked one at a time (a version bump, so caches see it), their last use written without
one, refused past the limit or without a label, and gone with their account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom.directory import Directory, InvalidValue, NotFound
from mailroom.directory.app_passwords import MAX_APP_PASSWORDS

HASH = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


@pytest.fixture
async def members(directory: Directory) -> Directory:
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_account("bob@example.org", HASH)
    return directory


async def test_an_app_password_is_listed_and_found_by_its_account_only(
    members: Directory,
) -> None:
    made = await members.add_app_password("Alice@Example.org", " phone ", HASH)
    assert (made.account, made.label, made.last_used) == ("alice@example.org", "phone", None)
    assert await members.app_passwords("alice@example.org") == [made]
    assert await members.find_app_password("alice@example.org", made.id) == made
    assert await members.find_app_password("bob@example.org", made.id) is None
    assert await members.app_passwords("bob@example.org") == []


async def test_revoking_bumps_the_version_and_only_the_owner_can(members: Directory) -> None:
    made = await members.add_app_password("alice@example.org", "phone", HASH)
    before = await members.version()
    assert not await members.revoke_app_password("bob@example.org", made.id)
    assert await members.revoke_app_password("alice@example.org", made.id)
    assert await members.version() > before
    assert await members.find_app_password("alice@example.org", made.id) is None
    assert not await members.revoke_app_password("alice@example.org", made.id)


async def test_the_last_use_is_written_without_a_version_bump(members: Directory) -> None:
    made = await members.add_app_password("alice@example.org", "phone", HASH)
    before = await members.version()
    used = datetime(2026, 12, 7, 12, 30, 15, tzinfo=UTC)
    await members.record_app_password_use(made.id, used)
    assert await members.version() == before
    found = await members.find_app_password("alice@example.org", made.id)
    assert found is not None and found.last_used == used


async def test_a_label_is_required_and_one_line(members: Directory) -> None:
    for label in ("", "   ", "a\nb", "x" * 101):
        with pytest.raises(InvalidValue):
            await members.add_app_password("alice@example.org", label, HASH)
    with pytest.raises(NotFound):
        await members.add_app_password("carol@example.org", "phone", HASH)
    assert await members.app_passwords("alice@example.org") == []


async def test_an_account_has_at_most_the_limit(members: Directory) -> None:
    async with members.batch():
        for number in range(MAX_APP_PASSWORDS):
            await members.add_app_password("alice@example.org", f"device {number}", HASH)
    with pytest.raises(InvalidValue, match="revoke one first"):
        await members.add_app_password("alice@example.org", "one more", HASH)


async def test_removing_the_account_removes_its_app_passwords(members: Directory) -> None:
    made = await members.add_app_password("alice@example.org", "phone", HASH)
    await members.remove_account("alice@example.org")
    await members.add_account("alice@example.org", HASH)
    assert await members.app_passwords("alice@example.org") == []
    assert await members.find_app_password("alice@example.org", made.id) is None
