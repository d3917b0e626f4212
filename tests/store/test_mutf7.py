"""Folder names on disk are IMAP modified UTF-7, as Dovecot writes them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.store import mutf7


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("A&B", "A&-B"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
        ("😀", "&2D3eAA-"),
    ],
)
def test_known_names(name: str, encoded: str) -> None:
    assert mutf7.encode(name) == encoded
    assert mutf7.decode(encoded) == name


@pytest.mark.parametrize("encoded", ["&", "&Jjo", "&AGE-", "&Jjo!-", "Entwürfe"])
def test_malformed_names_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        mutf7.decode(encoded)


unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@settings(deadline=None, max_examples=300)
@given(unicode_text)
def test_every_name_survives_the_round_trip(name: str) -> None:
    assert mutf7.decode(mutf7.encode(name)) == name


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=30))
def test_decoding_anything_returns_text_or_raises_value_error(encoded: str) -> None:
    with contextlib.suppress(ValueError):
        mutf7.decode(encoded)
