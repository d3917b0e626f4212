"""aliases(5) files: names, values, quoting, continuation, and the destinations Mailroom
refuses."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailroom.routing import MapFileError, load_aliases_file, parse_aliases_file
from tests.support.routing_community import write


def test_legacy_aliases_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "aliases",
        """
        # Aliases nobody sends from (see the legacy host's documentation).
        postmaster: root
        MAILER-DAEMON: postmaster
        abuse:      root, Security@Example.ORG
        # Issue tracking addresses are forwarded to the tracker.
        x: x@issue.example.org
        board: alice,
               bob,
          carol@example.net
    """,
    )
    aliases = load_aliases_file(path)
    assert len(aliases) == 5
    assert aliases.lookup("postmaster") == ("root",)
    assert aliases.lookup("mailer-daemon") == ("postmaster",)
    assert aliases.lookup("abuse") == ("root", "security@example.org")
    assert aliases.lookup("x") == ("x@issue.example.org",)
    assert aliases.lookup("board") == ("alice", "bob", "carol@example.net")
    assert aliases.lookup("nobody") is None


def test_names_are_looked_up_case_insensitively() -> None:
    aliases = parse_aliases_file("PostMaster: root\n", "aliases")
    assert aliases.lookup("POSTMASTER") == ("root",)
    assert "postmaster" in aliases


def test_quoted_names_and_values_are_unquoted() -> None:
    aliases = parse_aliases_file(
        '"info desk": "john.doe", "jane"@example.org\n"a:b": x\n', "aliases"
    )
    assert aliases.lookup("info desk") == ("john.doe", "jane@example.org")
    assert aliases.lookup("a:b") == ("x",)


def test_angle_brackets_and_comments_around_addresses() -> None:
    aliases = parse_aliases_file(
        "webmaster: Web Team <web@example.org>, root (the admin)\n", "aliases"
    )
    assert aliases.lookup("webmaster") == ("web@example.org", "root")


def test_empty_items_and_repeated_values_are_dropped() -> None:
    aliases = parse_aliases_file("list: a, , b, a,\n", "aliases")
    assert aliases.lookup("list") == ("a", "b")


def test_first_of_two_entries_for_a_name_wins_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        aliases = parse_aliases_file("root: alice\nother: x\nRoot: bob\n", "aliases")
    assert aliases.lookup("root") == ("alice",)
    entry = aliases.entry("root")
    assert entry is not None and entry.line == 1
    assert "aliases:3: duplicate name 'root'; the entry on line 1 is used" in caplog.text


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: b\nbackup: |/usr/bin/backup\n", 2, "delivery to a command is not supported"),
        ('a: b\nbackup: "|/usr/bin/backup --all"\n', 2, "delivery to a command is not supported"),
        ("log: /var/log/mail-copy\n", 1, "delivery to a file is not supported"),
        ("staff: :include:/etc/mail/staff\n", 1, ":include: files are not supported"),
        ("staff: :INCLUDE:/etc/mail/staff\n", 1, ":include: files are not supported"),
        ("a: b\nno colon here\n", 2, "expected 'name: value, value...'"),
        ("root:\n", 1, "there is no value after 'root:'"),
        ("root: ,\n", 1, "there is no value after 'root:'"),
        (": alice\n", 1, "there is no name before ':'"),
        ("root@example.org: alice\n", 1, "the name must be local, without '@'"),
        ("two words: alice\n", 1, "the name contains a space"),
        ("root: alice bob\n", 1, "separate addresses with commas"),
        ("root: alice@localhost\n", 1, "is not an address Mailroom can deliver to"),
        ("root: al ice@example.org\n", 1, "separate addresses with commas"),
        ("root: .alice\n", 1, "is not an address Mailroom can deliver to"),
        ('root: "unclosed\n', 1, "a double quote is never closed"),
        ("root: alice (unclosed\n", 1, "comment is never closed"),
        ("root: <alice\n", 1, "is not an address"),
        ("\troot: alice\n", 1, "this line starts with whitespace"),
    ],
)
def test_mistake_is_refused_naming_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(MapFileError) as caught:
        parse_aliases_file(text, "/etc/aliases")
    assert str(caught.value).startswith(f"/etc/aliases:{line}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
