"""Hostile stored values and passwords: verification answers, it never raises; what is
hashed verifies, and nothing else does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.directory.passwords import PasswordHasher, UnknownHashScheme, identify_scheme
from tests.support.password_hashes import CHEAP, LEGACY_HASH

# libpass warns of oddities it then tolerates (short rounds, long salts); expected here.
pytestmark = pytest.mark.filterwarnings("ignore::passlib.exc.PasslibHashWarning")

HASHER = PasswordHasher(CHEAP)
KNOWN = HASHER.hash("correct horse")

# Stored values: arbitrary text, and known hashes with a prefix, a cut or a changed char.
prefixes = st.sampled_from(
    [
        "",
        "$1$",
        "$5$",
        "$6$",
        "$5$rounds=",
        "$2b$",
        "$2y$04$",
        "$argon2id$",
        "$argon2i$v=19$m=",
        "{CRYPT}",
        "{BLF-CRYPT}$2b$",
        "{ARGON2ID}$argon2id$v=19$",
        "{SHA512-CRYPT}$6$",
        "{",
    ]
)
stored_values = st.one_of(
    st.text(max_size=120),
    st.tuples(prefixes, st.text(alphabet="$./0123456789abcdefABCXYZ=,+", max_size=100)).map(
        "".join
    ),
    st.tuples(st.sampled_from([LEGACY_HASH, KNOWN]), st.integers(0, 120), st.characters()).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    ),
)


@settings(max_examples=500, deadline=None)
@given(stored_values, st.text(max_size=40))
def test_any_stored_value_is_a_verification_never_an_exception(stored: str, password: str) -> None:
    result = HASHER.verify(password, stored)
    try:
        identify_scheme(stored)
    except UnknownHashScheme as error:
        assert "\n" not in str(error)
        assert result.ok is False and result.scheme is None
    assert not result.needs_upgrade or result.ok


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_only_the_legacy_password_matches_the_legacy_hash(password: str) -> None:
    assert HASHER.verify(password, LEGACY_HASH).ok == (password == "secret")


@settings(max_examples=50, deadline=None)
@given(
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=80,
    ),
    st.text(max_size=80),
)
def test_a_hashed_password_verifies_and_any_other_does_not(password: str, other: str) -> None:
    stored = HASHER.hash(password)
    assert HASHER.verify(password, stored).ok
    assert HASHER.verify(other, stored).ok == (other == password)
