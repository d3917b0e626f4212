"""Password hashes: new ones are argon2id; every scheme a migrated database carries verifies,
and nothing else does."""

from __future__ import annotations

import pytest

from mailroom.config import PasswordHashing
from mailroom.directory import InvalidValue
from mailroom.directory.passwords import (
    MAX_PASSWORD_BYTES,
    HashScheme,
    PasswordHasher,
    UnknownHashScheme,
    identify_scheme,
)
from tests.support.password_hashes import CHEAP, LEGACY_HASH, argon2_hash, hashes_of

# Made by Dovecot 2.3.19.1's `doveadm pw -s SCHEME -p 'correct horse'`: the exact strings a
# migrated Dovecot database holds, made by another implementation than ours.
DOVECOT = {
    "{MD5-CRYPT}$1$OcSi2Jgk$3g./L30Wa229bpnSQFCmy/": HashScheme.MD5_CRYPT,
    "{SHA256-CRYPT}$5$KGqJiYjZ7tSZ7ymc$i9XdkhZM9ywo8pgooiQArsc93Fx2Ba1.WxPWLV3/5g3": (
        HashScheme.SHA256_CRYPT
    ),
    "{SHA512-CRYPT}$6$11OZkK5oB9pyzm4o$AEaP4C3ANzRCVyPrDVroAkSkoYqgDu3ZZ3rqJHY97RDh8Tr4vzEOvI2o3J"
    "Uydl.BbUJ2Fh6DO9Zg9DbC/5lvX1": HashScheme.SHA512_CRYPT,
    "{SHA512-CRYPT}$6$rounds=10000$.0ANy/puGFJK.LnO$KBgrzFZ7z6/CnZwZdTYhIdS/2aBmX6S1GCQx89GoHCc/"
    "RuUPfFNm0Hil65DS2QjevEznKQQm/Qkj4NTmBQq8r.": HashScheme.SHA512_CRYPT,
    "{BLF-CRYPT}$2y$05$mhdsNL5mi5m1cHgP9xtI..ayDiE45SvY5p1ZVsSw/U8HaUPzPO5be": HashScheme.BCRYPT,
    "{CRYPT}$2y$05$QzFwSQzOw70vdzzICe5SLO0Z5MKAzZCfchGyK.wwobBYsT2F76QzO": HashScheme.BCRYPT,
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$p4pcZZwyM+t+BDZe0aV+bQ$QW+8HD5JdxMO1NSjnXYNdxwtbjBro"
    "7oSSv+/JZoB3vU": HashScheme.ARGON2ID,
    "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$o6ptDmKmB8xnkSG1UHnQxg$N7y1sXNjZKYi1n5f2lO47YFOxHZykCO"
    "IhrTgKjYyJS0": HashScheme.ARGON2I,
}
# `openssl passwd -5/-6 -salt saltsalt 'correct horse'`, without Dovecot's prefix.
OPENSSL = {
    "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/": HashScheme.SHA256_CRYPT,
    "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamS"
    "o5z0": HashScheme.SHA512_CRYPT,
}
# doveadm with a non-ASCII password: hashed as UTF-8.
UTF8_PASSWORD = "pässwörd €"
UTF8_HASH = (
    "{SHA512-CRYPT}$6$LWn2IyrvhXz69K8r$1hLMMBREPg25WwZv4czEWqP1uylaG3N/YfcksOWMZ3ZSJxUaEOlEGIoPh"
    "Umnwu1fH4un7aSKVNRrnXgVjJZtp/"
)
# doveadm BLF-CRYPT of 80 x's: crypt(3) used only the first 72 bytes.
LONG_BCRYPT = "{BLF-CRYPT}$2y$05$YXIArtNIE0V/GuqMQ4rTV.IobkIomr30420I.yiuJGj3vP1fpAocO"

NOT_HASHES = {
    "empty": "",
    "plain text": "secret",
    "Dovecot plain": "{PLAIN}secret",
    "Dovecot plain-md5": "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69",
    "DES crypt": "xxj31ZMTZzkVA",
    "{CRYPT} DES": "{CRYPT}xxj31ZMTZzkVA",
    "no password": "!",
    "md5-crypt salt without checksum": "$1$caea3837$",
    "md5-crypt cut short": LEGACY_HASH[:-1],
    "md5-crypt too long": LEGACY_HASH + "x",
    "prefix of another scheme": "{SHA512-CRYPT}" + LEGACY_HASH,
    "bcrypt 2x": "$2x$05$mhdsNL5mi5m1cHgP9xtI..ayDiE45SvY5p1ZVsSw/U8HaUPzPO5be",
    "argon2 without hash": "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzYWx0$",
    "argon2 unknown type": "$argon2x$v=19$m=64,t=1,p=1$c29tZXNhbHRzYWx0$c29tZWhhc2g",
    "garbage": "$$$$",
    "non-ASCII": "$1$caea3837$gPafod/Do/8Jj5M9HehhM€",
}


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def test_the_legacy_hash_verifies_secret_and_asks_for_an_upgrade(hasher: PasswordHasher) -> None:
    result = hasher.verify("secret", LEGACY_HASH)
    assert (result.ok, result.needs_upgrade, result.scheme) == (True, True, HashScheme.MD5_CRYPT)


@pytest.mark.parametrize("wrong", ["Secret", "secret ", " secret", "secre", "secret\n", "", "s"])
def test_the_legacy_hash_refuses_everything_but_secret(hasher: PasswordHasher, wrong: str) -> None:
    assert hasher.verify(wrong, LEGACY_HASH).ok is False


@pytest.mark.parametrize(("stored", "scheme"), [*DOVECOT.items(), *OPENSSL.items()])
def test_hashes_made_by_dovecot_and_openssl_verify(
    hasher: PasswordHasher, stored: str, scheme: HashScheme
) -> None:
    assert identify_scheme(stored) is scheme
    assert hasher.verify("correct horse", stored).ok
    assert not hasher.verify("correct horse battery", stored).ok


@pytest.mark.parametrize("name", sorted(hashes_of("x")))
def test_each_scheme_verifies_its_password_only(hasher: PasswordHasher, name: str) -> None:
    stored = hashes_of("correct horse")[name]
    assert hasher.verify("correct horse", stored).ok, name
    assert not hasher.verify("correct horsE", stored).ok, name


def test_a_non_ascii_password_is_hashed_as_utf8_as_dovecot_did(hasher: PasswordHasher) -> None:
    assert hasher.verify(UTF8_PASSWORD, UTF8_HASH).ok
    assert not hasher.verify("passwort €", UTF8_HASH).ok


def test_bcrypt_compares_the_first_72_bytes_as_crypt_did(hasher: PasswordHasher) -> None:
    assert hasher.verify("x" * 80, LONG_BCRYPT).ok
    assert hasher.verify("x" * 72, LONG_BCRYPT).ok
    assert not hasher.verify("x" * 71, LONG_BCRYPT).ok


def test_a_new_hash_is_argon2id_with_the_configured_costs(hasher: PasswordHasher) -> None:
    stored = hasher.hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    result = hasher.verify("correct horse", stored)
    assert (result.ok, result.needs_upgrade) == (True, False)


def test_the_same_password_gets_a_fresh_salt_each_time(hasher: PasswordHasher) -> None:
    assert hasher.hash("correct horse") != hasher.hash("correct horse")


def test_argon2id_with_other_costs_than_configured_asks_for_an_upgrade(
    hasher: PasswordHasher,
) -> None:
    stored = argon2_hash("pw", time_cost=2)
    assert hasher.verify("pw", stored).needs_upgrade
    assert (
        PasswordHasher(PasswordHashing(time_cost=2, memory_kib=64, parallelism=1))
        .verify("pw", stored)
        .needs_upgrade
        is False
    )


@pytest.mark.parametrize("name", ["argon2i", "argon2d", "bcrypt 2y", "sha256-crypt"])
def test_other_schemes_ask_for_an_upgrade(hasher: PasswordHasher, name: str) -> None:
    assert hasher.verify("pw", hashes_of("pw")[name]).needs_upgrade


def test_a_wrong_password_never_asks_for_an_upgrade(hasher: PasswordHasher) -> None:
    result = hasher.verify("wrong", LEGACY_HASH)
    assert (result.ok, result.needs_upgrade) == (False, False)


def test_dovecot_scheme_names_are_case_insensitive_as_in_dovecot() -> None:
    assert identify_scheme("{md5-crypt}" + LEGACY_HASH) is HashScheme.MD5_CRYPT
    assert identify_scheme("{Crypt}" + LEGACY_HASH) is HashScheme.MD5_CRYPT


@pytest.mark.parametrize("name", sorted(NOT_HASHES))
def test_anything_else_is_an_unknown_scheme_and_never_verifies(
    hasher: PasswordHasher, name: str
) -> None:
    stored = NOT_HASHES[name]
    with pytest.raises(UnknownHashScheme) as raised:
        identify_scheme(stored)
    assert "\n" not in str(raised.value)
    result = hasher.verify("secret", stored)
    assert (result.ok, result.scheme) == (False, None)


def test_unknown_scheme_is_an_invalid_value_for_callers_that_catch_those() -> None:
    with pytest.raises(InvalidValue):
        identify_scheme("secret")


def test_the_refusal_of_a_plain_text_hash_does_not_repeat_the_password() -> None:
    with pytest.raises(UnknownHashScheme) as raised:
        identify_scheme("hunter2-is-my-password")
    assert "hunter2" not in str(raised.value)
    assert "plain text" in str(raised.value)


def test_the_refusal_of_an_unsupported_dovecot_scheme_names_it() -> None:
    with pytest.raises(UnknownHashScheme, match=r"\{PLAIN\} is not supported"):
        identify_scheme("{PLAIN}secret")


@pytest.mark.parametrize(
    ("stored", "complaint"),
    [
        ("$6$rounds=999999999$saltsalt$" + "a" * 86, "rounds=999999999"),
        ("$5$rounds=2000000$saltsalt$" + "a" * 43, "rounds=2000000"),
        ("$2b$20$" + "a" * 53, "cost 20"),
        ("$argon2id$v=19$m=4194305,t=1,p=1$c29tZXNhbHRzYWx0$c29tZWhhc2g", "m=4194305"),
        ("$argon2id$v=19$m=64,t=101,p=1$c29tZXNhbHRzYWx0$c29tZWhhc2g", "t=101"),
        ("$argon2id$v=19$m=64,t=1,p=65$c29tZXNhbHRzYWx0$c29tZWhhc2g", "p=65"),
    ],
)
def test_stored_hashes_that_would_cost_minutes_or_gigabytes_are_refused_unverified(
    hasher: PasswordHasher, stored: str, complaint: str
) -> None:
    with pytest.raises(UnknownHashScheme, match=complaint):
        identify_scheme(stored)
    assert hasher.verify("pw", stored).ok is False


def test_an_argon2_hash_as_costly_as_the_config_allows_is_accepted() -> None:
    assert identify_scheme("$argon2id$v=19$m=4194304,t=100,p=64$c29tZXNhbHRzYWx0$c29tZWhhc2g")


@pytest.mark.parametrize(
    "password",
    ["", "with\x00nul", "x" * (MAX_PASSWORD_BYTES + 1), "€" * 1366, "\udcff lone surrogate"],
)
def test_unacceptable_passwords_are_not_ok_and_never_hashed(
    hasher: PasswordHasher, password: str
) -> None:
    assert hasher.verify(password, hasher.hash("x")).ok is False
    with pytest.raises(InvalidValue, match="1 to 4096 bytes"):
        hasher.hash(password)


def test_the_longest_acceptable_password_hashes_and_verifies(hasher: PasswordHasher) -> None:
    password = "y" * MAX_PASSWORD_BYTES
    assert hasher.verify(password, hasher.hash(password)).ok


def test_a_nul_cut_password_does_not_match_what_crypt_would_have_cut_it_to(
    hasher: PasswordHasher,
) -> None:
    assert not hasher.verify("secret\x00anything", LEGACY_HASH).ok
