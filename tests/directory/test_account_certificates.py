"""Members' registered certificates on every engine: registered by fingerprint, one
account's only, listed, removed by their owner only, and gone with their account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom.directory import AlreadyExists, Directory, InvalidValue, NotFound

HASH = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
PRINT = "AB:" + ":".join(["cd"] * 31)
FINGERPRINT = ("ab" + "cd" * 31).lower()
EXPIRY = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
async def members(directory: Directory) -> Directory:
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_account("bob@example.org", HASH)
    return directory


async def test_a_certificate_is_registered_listed_and_removed(members: Directory) -> None:
    before = await members.version()
    added = await members.add_certificate("alice@example.org", PRINT, "CN=alice", EXPIRY)
    assert await members.version() > before
    assert added.fingerprint == FINGERPRINT
    assert await members.account_certificates("alice@example.org") == [added]
    assert await members.account_certificates("bob@example.org") == []
    assert not await members.remove_certificate("bob@example.org", FINGERPRINT)
    assert await members.remove_certificate("alice@example.org", FINGERPRINT.upper())
    assert await members.account_certificates("alice@example.org") == []


async def test_a_certificate_is_one_accounts(members: Directory) -> None:
    await members.add_certificate("alice@example.org", FINGERPRINT, "CN=alice", EXPIRY)
    with pytest.raises(AlreadyExists, match="to another account"):
        await members.add_certificate("bob@example.org", FINGERPRINT, "CN=alice", EXPIRY)
    with pytest.raises(AlreadyExists, match="to this account"):
        await members.add_certificate("alice@example.org", FINGERPRINT, "CN=alice", EXPIRY)


async def test_what_is_not_a_fingerprint_or_an_account_is_refused(members: Directory) -> None:
    for wrong in ("", "ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(InvalidValue):
            await members.add_certificate("alice@example.org", wrong, "CN=x", EXPIRY)
    with pytest.raises(NotFound):
        await members.add_certificate("carol@example.org", FINGERPRINT, "CN=x", EXPIRY)


async def test_removing_the_account_removes_its_certificates(members: Directory) -> None:
    await members.add_certificate("alice@example.org", FINGERPRINT, "CN=alice", EXPIRY)
    await members.remove_account("alice@example.org")
    await members.add_certificate("bob@example.org", FINGERPRINT, "CN=alice", EXPIRY)
