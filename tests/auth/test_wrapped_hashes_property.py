"""Wrapped hashes under any password and any tampering: a wrapped hash verifies the
password its legacy hash was made of and no other, and a damaged one is a refusal,
never an exception."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from passlib.hash import bcrypt, md5_crypt, sha256_crypt, sha512_crypt

from mailroom.directory.passwords import (
    PasswordHasher,
    UnknownHashScheme,
    identify_scheme,
    wrap_legacy_hash,
)
from tests.support.password_hashes import CHEAP, LEGACY_HASH

pytestmark = pytest.mark.filterwarnings("ignore::passlib.exc.PasslibHashWarning")

HASHER = PasswordHasher(CHEAP)
LEGACY = {
    "md5-crypt": md5_crypt,
    "sha256-crypt": sha256_crypt.using(rounds=1000),
    "sha512-crypt": sha512_crypt.using(rounds=1000),
    "bcrypt": bcrypt.using(rounds=4, ident="2b"),
}
passwords = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(LEGACY)), passwords, passwords)
def test_a_wrapped_hash_verifies_its_password_and_no_other(
    scheme: str, password: str, other: str
) -> None:
    assume(other != password)
    if scheme == "bcrypt":  # bcrypt only ever read 72 bytes (crypt(3) too)
        assume(other.encode()[:72] != password.encode()[:72])
    wrapped = wrap_legacy_hash(str(LEGACY[scheme].hash(password)), CHEAP)
    assert identify_scheme(wrapped).value == f"argon2id-wrapped-{scheme}"
    assert HASHER.verify(password, wrapped).ok
    assert not HASHER.verify(other, wrapped).ok


WRAPPED = wrap_legacy_hash(LEGACY_HASH, CHEAP)
WRAPPED_BCRYPT = wrap_legacy_hash(str(LEGACY["bcrypt"].hash("secret")), CHEAP)
WRAPPED_SHA = wrap_legacy_hash(str(LEGACY["sha512-crypt"].hash("secret")), CHEAP)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([WRAPPED, WRAPPED_BCRYPT, WRAPPED_SHA]),
    st.integers(0, 200),
    st.integers(0, 200),
    st.text(alphabet="$./0123456789abcdefXYZ=,{}", max_size=12),
)
def test_a_tampered_wrapped_hash_is_a_refusal_never_an_exception(
    wrapped: str, start: int, length: int, inserted: str
) -> None:
    tampered = wrapped[:start] + inserted + wrapped[start + length :]
    result = HASHER.verify("secret", tampered)
    try:
        identify_scheme(tampered)
    except UnknownHashScheme:
        assert result.ok is False and result.scheme is None
    if tampered != wrapped and result.ok:
        # Only a change that keeps both the salt and the argon2id hash may still match
        # (e.g. rounds=5000 spelled out, or a bcrypt variant letter).
        assert tampered.endswith(wrapped.rpartition("$")[2])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_wrapping_any_text_is_a_hash_or_an_unknown_scheme(stored: str) -> None:
    try:
        wrapped = wrap_legacy_hash(stored, CHEAP)
    except UnknownHashScheme:
        return
    assert wrap_legacy_hash(wrapped, CHEAP) == wrapped
