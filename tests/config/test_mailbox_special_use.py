"""`[mailbox.special_use]`: which existing folders are Drafts, Sent, Junk, Trash and
Archive by name; a name under two attributes, or an empty one, is refused with the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailroom.config import ConfigError, parse_config


def problems_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/etc/mailroom/mailroom.toml"))
    return str(caught.value)


def test_the_defaults_cover_the_english_german_and_french_client_names() -> None:
    names = parse_config("", Path("m.toml")).mailbox.special_use.attributes()
    assert {"Drafts", "Entwürfe", "Brouillons"} <= set(names["\\Drafts"])
    assert {"Sent", "Sent Messages", "Gesendet", "Envoyés"} <= set(names["\\Sent"])
    assert {"Trash", "Papierkorb", "Corbeille"} <= set(names["\\Trash"])
    assert {"Junk", "Spam"} <= set(names["\\Junk"])
    assert {"Archive", "Archiv"} <= set(names["\\Archive"])


def test_a_list_replaces_its_default_and_keeps_its_order() -> None:
    text = '[mailbox.special_use]\ndrafts = ["Brouillons", "Entwürfe"]\n'
    names = parse_config(text, Path("m.toml")).mailbox.special_use.attributes()
    assert names["\\Drafts"] == ("Brouillons", "Entwürfe")
    assert names["\\Sent"][0] == "Sent"


def test_a_name_under_two_attributes_is_refused() -> None:
    text = '[mailbox.special_use]\ndrafts = ["Outbox"]\nsent = ["Outbox"]\n'
    problem = problems_of(text)
    assert "mailbox.special_use" in problem
    assert "'Outbox' is listed for both drafts and sent" in problem


def test_an_empty_name_is_refused() -> None:
    assert "junk: an empty folder name" in problems_of('[mailbox.special_use]\njunk = [" "]\n')
