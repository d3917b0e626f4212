"""Reading the session cookie out of hostile `Cookie:` headers: never an error, only the
named cookie's value or nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.guard import cookie_value, session_cookie

NAME = session_cookie("web", secure=True)
HEADER_BYTES = st.binary(max_size=300) | st.text(max_size=200).map(
    lambda text: text.encode("utf-8")
)


@given(st.lists(st.tuples(st.sampled_from([b"cookie", b"x-other"]), HEADER_BYTES), max_size=4))
def test_hostile_cookie_headers_give_a_value_or_nothing(headers: list[tuple[bytes, bytes]]) -> None:
    value = cookie_value(headers, NAME)
    assert value is None or isinstance(value, str)


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
        min_size=1,
        max_size=60,
    ),
    HEADER_BYTES,
)
def test_the_session_id_is_found_beside_other_cookies(session_id: str, other: bytes) -> None:
    header = f"theme=dark; {NAME}={session_id}; lang=en".encode()
    assert cookie_value([(b"x-other", other), (b"cookie", header)], NAME) == session_id
