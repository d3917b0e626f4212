"""The names of mailboxes as a client without UTF8=ACCEPT writes them (mUTF-7, RFC 3501
§5.1.3): the shortcut for plain names (mailbox_commands._plain) changes no answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.mailbox_commands import _plain
from mailroom.store import mutf7


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_a_plain_name_is_its_own_mutf7_form_both_ways(name: str) -> None:
    if _plain(name):
        assert mutf7.encode(name) == name
        assert mutf7.decode(name) == name


def test_names_with_ampersand_or_beyond_ascii_are_not_plain() -> None:
    assert _plain("Load1234561-a") and _plain("Sent Items") and _plain("a.b/c")
    assert not _plain("Tom & Jerry")
    assert not _plain("Entwürfe")
    assert not _plain("tab\there")
