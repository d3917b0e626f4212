"""App passwords as a login's password: whatever a client sends, reading it never raises
and finds an app password only in exactly the shape the server makes; every password the
server makes reads back as itself."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.auth.app_passwords import (
    ALPHABET,
    app_password_text,
    new_secret,
    parse_app_password,
)

near_misses = st.builds(
    lambda number, groups, separator: f"{number}{separator}" + separator.join(groups),
    st.integers(min_value=-5, max_value=2**40),
    st.lists(st.text(alphabet=ALPHABET + "01lOA-_ ", min_size=0, max_size=7), max_size=6),
    st.sampled_from(["-", "_", " ", "", "--"]),
)


@given(st.one_of(st.text(max_size=120), near_misses))
def test_any_password_is_read_without_an_error_and_only_the_exact_shape_matches(
    password: str,
) -> None:
    found = parse_app_password(password)
    if found is not None:
        assert app_password_text(found.id, found.secret) == password
        assert 1 <= found.id <= 2**31 - 1


@given(st.integers(min_value=1, max_value=2**31 - 1))
def test_every_made_app_password_reads_back(password_id: int) -> None:
    secret = new_secret()
    found = parse_app_password(app_password_text(password_id, secret))
    assert found is not None
    assert (found.id, found.secret) == (password_id, secret)


def test_an_ordinary_password_is_no_app_password() -> None:
    for password in ("correct horse battery", "12-abcde", "0-aaaaa-aaaaa-aaaaa-aaaaa", ""):
        assert parse_app_password(password) is None
