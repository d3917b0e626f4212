"""`key value` tables (postmap(1) source, used as recipient_bcc_maps): keys, values and
Postfix's search order."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailroom.routing import MapFileError, load_address_map, parse_address_map
from tests.support.routing_community import write

BCC = """
    # Copies of the functional addresses' mail (the legacy cacert-inc-bcc).
    board@example.org        board-archive@example.org
    Support@Example.ORG      support-archive@example.org
    support+urgent@example.org  pager@example.net
    abuse                    abuse-archive@example.org
    @lists.example.org       list-archive@example.org
"""


def test_full_address_key(tmp_path: Path) -> None:
    table = load_address_map(write(tmp_path, "bcc", BCC))
    assert len(table) == 5
    assert table.lookup("board@example.org") == "board-archive@example.org"
    assert table.lookup("support@example.org") == "support-archive@example.org"
    assert table.lookup("nobody@example.org") is None


def test_address_with_detail_tries_itself_then_without_detail(tmp_path: Path) -> None:
    table = load_address_map(write(tmp_path, "bcc", BCC))
    assert table.lookup("support+urgent@example.org", delimiters="+") == "pager@example.net"
    assert table.lookup("support+later@example.org", delimiters="+") == (
        "support-archive@example.org"
    )
    assert table.lookup("support+later@example.org", delimiters="") is None


def test_bare_local_part_applies_only_in_local_domains(tmp_path: Path) -> None:
    table = load_address_map(write(tmp_path, "bcc", BCC))
    assert table.lookup("abuse@example.net", local=True) == "abuse-archive@example.org"
    assert table.lookup("abuse+x@example.net", delimiters="+", local=True) == (
        "abuse-archive@example.org"
    )
    assert table.lookup("abuse@elsewhere.example", local=False) is None


def test_domain_key_comes_last(tmp_path: Path) -> None:
    table = parse_address_map(
        "@lists.example.org  list-archive@example.org\n"
        "dev@lists.example.org  dev-archive@example.org\n",
        "bcc",
    )
    assert table.lookup("dev@lists.example.org", local=False) == "dev-archive@example.org"
    assert table.lookup("ops@lists.example.org", local=False) == "list-archive@example.org"


def test_entry_names_the_line(tmp_path: Path) -> None:
    table = load_address_map(write(tmp_path, "bcc", BCC))
    entry = table.entry("board@example.org")
    assert entry is not None
    assert (entry.key, entry.value, entry.line) == (
        "board@example.org",
        "board-archive@example.org",
        2,
    )


def test_continuation_line_carries_the_value() -> None:
    table = parse_address_map("board@example.org\n    archive@example.org\n", "bcc")
    assert table.lookup("board@example.org") == "archive@example.org"


def test_first_of_two_entries_for_a_key_wins_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        table = parse_address_map("a@example.org one@example.org\nA@example.org two@x.org\n", "m")
    assert table.lookup("a@example.org") == "one@example.org"
    assert "m:2: duplicate key 'a@example.org'; the entry on line 1 is used" in caplog.text


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a@example.org b@example.org\nlonely@example.org\n", 2, "expected 'key value'"),
        ("a@example.org b@example.org, c@example.org\n", 1, "one address per key"),
        ("a@example.org b@example.org c@example.org\n", 1, "one address per key"),
        ("a@example.org not-an-address\n", 1, "'not-an-address' is not an address"),
        ("a@bad_domain b@example.org\n", 1, "the key 'a@bad_domain' is not user@domain"),
        ("@ b@example.org\n", 1, "the key '@' is not user@domain, user or @domain"),
        ("  a@example.org b@example.org\n", 1, "this line starts with whitespace"),
    ],
)
def test_mistake_is_refused_naming_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(MapFileError) as caught:
        parse_address_map(text, "/etc/mailroom/cacert-inc-bcc")
    assert str(caught.value).startswith(f"/etc/mailroom/cacert-inc-bcc:{line}: ")
    assert message in str(caught.value)
