"""Legacy hashes wrapped in argon2id: the wrapped hash verifies exactly the passwords the
legacy one did, keeps no legacy checksum, is never wrapped twice, and is replaced by a
plain argon2id hash at the first successful login. The Authenticator wraps a directory's
legacy hashes once; failed logins all pay legacy + argon2id (see bench/login_timing.py
for the times themselves)."""

from __future__ import annotations

import logging

import pytest
from passlib.hash import md5_crypt

from mailroom.auth import AuthOutcome
from mailroom.directory.passwords import (
    WRAPPED_PREFIX,
    HashScheme,
    PasswordHasher,
    UnknownHashScheme,
    identify_scheme,
    wrap_legacy_hash,
    wraps_legacy_hash,
)
from tests.support.auth_site import MakeSite
from tests.support.password_hashes import CHEAP, LEGACY_HASH, hashes_of

pytestmark = pytest.mark.filterwarnings("ignore::passlib.exc.PasslibHashWarning")

HASHER = PasswordHasher(CHEAP)
PASSWORD = "pässword 1"
LEGACY = {
    name: stored
    for name, stored in hashes_of(PASSWORD).items()
    if identify_scheme(stored).value in ("md5-crypt", "sha256-crypt", "sha512-crypt", "bcrypt")
}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_a_wrapped_hash_verifies_the_right_password_and_refuses_others(name: str) -> None:
    wrapped = wrap_legacy_hash(LEGACY[name], CHEAP)
    right = HASHER.verify(PASSWORD, wrapped)
    assert right.ok and right.needs_upgrade
    assert right.scheme is not None and right.scheme.value.startswith("argon2id-wrapped-")
    for wrong in ("pässword 2", "", "pässword 1 ", PASSWORD.upper()):
        assert not HASHER.verify(wrong, wrapped).ok


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_a_wrapped_hash_keeps_no_legacy_checksum(name: str) -> None:
    stored = LEGACY[name]
    wrapped = wrap_legacy_hash(stored, CHEAP)
    checksum = stored[-31:] if "$2" in stored[:4] or "BLF" in stored else stored.rpartition("$")[2]
    assert checksum not in wrapped
    assert wrapped.startswith(WRAPPED_PREFIX)


def test_the_legacy_hosts_hash_wrapped_still_logs_in_with_secret() -> None:
    wrapped = wrap_legacy_hash(LEGACY_HASH, CHEAP)
    assert wrapped.startswith("{ARGON2ID-WRAPPED}$1$caea3837$$argon2id$v=19$m=64,t=1,p=1$")
    assert identify_scheme(wrapped) is HashScheme.WRAPPED_MD5_CRYPT
    assert HASHER.verify("secret", wrapped).ok
    assert not HASHER.verify("secret2", wrapped).ok


def test_a_legacy_salt_spelling_argon2id_is_no_trouble() -> None:
    wrapped = wrap_legacy_hash(md5_crypt.using(salt="argon2id").hash("x"), CHEAP)
    assert HASHER.verify("x", wrapped).ok and not HASHER.verify("y", wrapped).ok


def test_nothing_is_wrapped_twice_and_argon2_is_left_alone() -> None:
    wrapped = wrap_legacy_hash(LEGACY_HASH, CHEAP)
    assert wrap_legacy_hash(wrapped, CHEAP) == wrapped
    argon = HASHER.hash("x")
    assert wrap_legacy_hash(argon, CHEAP) == argon


@pytest.mark.parametrize("stored", ["", "!", "plain text", "{PLAIN}secret", "abcdefghijklm"])
def test_what_no_password_matches_is_not_wrapped(stored: str) -> None:
    with pytest.raises(UnknownHashScheme):
        wrap_legacy_hash(stored, CHEAP)


def test_the_default_parameters_are_the_shipped_ones() -> None:
    assert "$argon2id$v=19$m=65536,t=3,p=4$" in wrap_legacy_hash(LEGACY_HASH)


@pytest.mark.parametrize(
    ("legacy_scheme", "scheme"),
    [
        ("md5-crypt", HashScheme.WRAPPED_MD5_CRYPT),
        ("sha512-crypt", HashScheme.WRAPPED_SHA512_CRYPT),
        ("bcrypt", HashScheme.WRAPPED_BCRYPT),
        ("none", HashScheme.ARGON2ID),
    ],
)
def test_unknown_accounts_are_checked_against_a_dummy_of_the_typical_path(
    legacy_scheme: str, scheme: HashScheme
) -> None:
    hasher = PasswordHasher(CHEAP.model_copy(update={"legacy_scheme": legacy_scheme}))
    dummy = hasher.dummy_hash()
    assert identify_scheme(dummy) is scheme
    assert not hasher.verify("anything", dummy).ok


async def test_the_authenticator_wraps_legacy_hashes_once_and_they_still_log_in(
    make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.auth")
    site = await make_site(passwords=CHEAP.model_copy(update={"legacy_scheme": "sha512-crypt"}))
    await site.add("legacy@example.org", stored=LEGACY_HASH)
    await site.add("dovecot@example.org", stored="{SHA512-CRYPT}" + LEGACY["sha512-crypt"])
    await site.add("new@example.org", "new password")
    await site.add("nobody@example.org", stored="!")
    argon = await site.stored_hash("new@example.org")

    assert await site.authenticator.wrap_legacy_hashes() == 2
    assert identify_scheme(await site.stored_hash("legacy@example.org")).value == (
        "argon2id-wrapped-md5-crypt"
    )
    assert await site.stored_hash("new@example.org") == argon
    assert await site.stored_hash("nobody@example.org") == "!"
    assert await site.authenticator.wrap_legacy_hashes() == 0

    assert (await site.login("legacy@example.org", "wrong")).outcome is AuthOutcome.BAD_PASSWORD
    assert (await site.login("dovecot@example.org", PASSWORD)).ok
    assert (await site.login("legacy@example.org", "secret")).ok
    last = [r.getMessage() for r in caplog.records if r.getMessage().startswith("auth: ")][-1]
    assert "hash_upgrade=argon2id-wrapped-md5-crypt->argon2id" in last
    assert (await site.stored_hash("legacy@example.org")).startswith("$argon2id$")


async def test_a_host_whose_hashes_are_not_its_legacy_scheme_is_told(
    make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    site = await make_site(passwords=CHEAP.model_copy(update={"legacy_scheme": "none"}))
    await site.add("legacy@example.org", stored=LEGACY_HASH)
    await site.authenticator.wrap_legacy_hashes()
    assert "set legacy_scheme = 'md5-crypt'" in caplog.text


def test_a_reimport_can_tell_a_wrapped_hash_from_a_password_changed_on_the_legacy_host() -> None:
    wrapped = wrap_legacy_hash(LEGACY_HASH, CHEAP)
    assert wraps_legacy_hash(wrapped, LEGACY_HASH)
    assert wraps_legacy_hash(wrapped, "{MD5-CRYPT}" + LEGACY_HASH)
    changed = md5_crypt.hash("new secret")  # passwd on the legacy host: a new salt
    assert not wraps_legacy_hash(wrapped, changed)
    assert not wraps_legacy_hash(LEGACY_HASH, LEGACY_HASH)  # not wrapped at all
    assert not wraps_legacy_hash(HASHER.hash("secret"), LEGACY_HASH)
    for stored in LEGACY.values():
        assert wraps_legacy_hash(wrap_legacy_hash(stored, CHEAP), stored)
