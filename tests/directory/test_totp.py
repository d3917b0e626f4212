"""TOTP secrets on every engine: enrolment starts unconfirmed, a code's confirmation
confirms only the secret it was made for, a new enrolment replaces the old secret, and
none of it bumps the directory's version."""

from __future__ import annotations

from mailroom.directory import Directory, InvalidValue, NotFound
from tests.support.directories import Refused

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER = "KRSXG5DSNFXGOIDBNZSCA5DPEBZWK3TE"


async def alice(directory: Directory) -> None:
    await directory.add_domain("example.org")
    await directory.add_account("alice@example.org", "{PLAIN}x")


async def test_an_enrolment_starts_unconfirmed_and_is_confirmed_once(directory: Directory) -> None:
    await alice(directory)
    assert await directory.totp_secret("alice@example.org") is None
    started = await directory.set_totp_secret("Alice@Example.org", SECRET)
    assert not started.confirmed
    stored = await directory.totp_secret("alice@example.org")
    assert stored is not None and stored.secret == SECRET and not stored.confirmed
    assert await directory.confirm_totp_secret("alice@example.org", SECRET)
    confirmed = await directory.totp_secret("alice@example.org")
    assert confirmed is not None and confirmed.confirmed


async def test_a_restarted_enrolment_is_not_confirmed_by_the_old_secret(
    directory: Directory,
) -> None:
    await alice(directory)
    await directory.set_totp_secret("alice@example.org", SECRET)
    await directory.set_totp_secret("alice@example.org", OTHER)
    assert not await directory.confirm_totp_secret("alice@example.org", SECRET)
    stored = await directory.totp_secret("alice@example.org")
    assert stored is not None and stored.secret == OTHER and not stored.confirmed


async def test_removing_forgets_the_secret(directory: Directory) -> None:
    await alice(directory)
    await directory.set_totp_secret("alice@example.org", SECRET)
    assert await directory.remove_totp_secret("alice@example.org")
    assert await directory.totp_secret("alice@example.org") is None
    assert not await directory.remove_totp_secret("alice@example.org")


async def test_secrets_do_not_bump_the_version(directory: Directory) -> None:
    await alice(directory)
    before = await directory.version()
    await directory.set_totp_secret("alice@example.org", SECRET)
    await directory.confirm_totp_secret("alice@example.org", SECRET)
    await directory.remove_totp_secret("alice@example.org")
    assert await directory.version() == before


async def test_a_secret_that_is_no_base32_is_refused(
    directory: Directory, refused: Refused
) -> None:
    await alice(directory)
    async with refused(InvalidValue, "a TOTP secret is 16 to 64 base32 characters (A-Z, 2-7)"):
        await directory.set_totp_secret("alice@example.org", "not-base32!")


async def test_an_unknown_account_has_no_secret(directory: Directory, refused: Refused) -> None:
    await alice(directory)
    async with refused(NotFound, "no account nobody@example.org"):
        await directory.set_totp_secret("nobody@example.org", SECRET)


async def test_an_account_with_a_secret_can_be_removed(directory: Directory) -> None:
    await alice(directory)
    await directory.set_totp_secret("alice@example.org", SECRET)
    await directory.remove_account("alice@example.org")
    await directory.add_account("alice@example.org", "{PLAIN}x")
    assert await directory.totp_secret("alice@example.org") is None
