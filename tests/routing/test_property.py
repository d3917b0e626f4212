"""Hostile table files and hostile addresses: whatever the text, a parser returns a table
or a MapFileError naming a line; lookups and expansion never raise."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.config import DirectoryConfig, RoutingConfig
from mailroom.directory import Directory
from mailroom.message.posix_regex import PosixRegexError, compile_posix
from mailroom.routing import (
    InvalidRecipient,
    MapFileError,
    Router,
    parse_address_map,
    parse_aliases_file,
    parse_regexp_table,
)
from tests.support.routing_community import Clock, populate, write

PROPERTY = settings(max_examples=300, deadline=None)
PATH = "/etc/mailroom/table"

# Pieces of lines that parsers find awkward, joined into hostile lines.
FRAGMENTS = [
    *["/", "!", "!/", "//", "/i", "/x", "/m", "/q", "if ", "endif", "IF"],  # regexp rules
    *["$", "$$", "$1", "${", "${2}", "$(1)", "$a"],  # substitutions
    *["\\", "[", "]", "[:alpha:]", "[.", "(", ")", "(?", "{", "{2,1}", "*", "+?", "|", "^"],
    *["\\d", "\\(", ":", ",", '"', "<", ">", "@", "%", "|cmd", "/file", ":include:"],
    *["#", " ", "\t", "\r", "\x00", "\u2028", "a", "é", "root", "b@example.org", "@example.org"],
]
hostile_line = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)
hostile_text = st.lists(hostile_line, max_size=8).map("\n".join)
any_text = st.one_of(st.text(max_size=300), hostile_text)


def check_error(error: MapFileError, text: str) -> None:
    """A MapFileError is one line naming the file and a line of it."""
    assert error.path == Path(PATH)
    assert error.line is not None and 1 <= error.line <= text.count("\n") + 1
    assert str(error).startswith(f"{PATH}:{error.line}: ")
    assert len(str(error).splitlines()) == 1


@PROPERTY
@given(any_text, st.lists(st.text(max_size=40), max_size=5))
def test_regexp_table_parses_or_names_a_line_and_lookups_never_raise(
    text: str, keys: list[str]
) -> None:
    try:
        table = parse_regexp_table(text, PATH)
    except MapFileError as error:
        check_error(error, text)
        return
    for key in keys:
        found = table.match(key)
        assert found is None or isinstance(found.result, str)


@PROPERTY
@given(
    st.integers(0, 4),
    st.lists(
        st.one_of(
            st.text(alphabet="ab@.-", max_size=3),
            st.integers(0, 6).map(lambda n: f"${n}"),
            st.integers(0, 6).map(lambda n: f"${{{n}}}"),
            st.integers(0, 6).map(lambda n: f"$({n})"),
            st.just("$$"),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.text(alphabet="ab@.-xy", max_size=12), max_size=5),
)
def test_regexp_substitutions_are_checked_at_load_and_never_fail_at_lookup(
    groups: int, result_pieces: list[str], keys: list[str]
) -> None:
    result = "".join(result_pieces)
    text = "/^" + "(a*|b)?" * groups + f"/ {result}\n"
    names = _references(result)
    valid = bool(result) and all(name.isdigit() and 1 <= int(name) <= groups for name in names)
    try:
        table = parse_regexp_table(text, PATH)
    except MapFileError as error:
        check_error(error, text)
        assert not valid
        return
    assert valid
    for key in keys:
        assert isinstance(table.lookup(key), str)  # the pattern matches every key


def _references(result: str) -> list[str]:
    """What a result substitutes, as Postfix's mac_parse reads it ($$ is a dollar sign)."""
    return [
        next(group for group in match.groups() if group is not None)
        for match in re.finditer(r"\$\{(\d+)\}|\$\((\d+)\)|\$(\w+)|\$(\$)", result)
        if match.group(4) is None
    ]


@PROPERTY
@given(st.text(max_size=60), st.booleans(), st.booleans(), st.booleans())
def test_posix_patterns_compile_or_say_why_not(
    pattern: str, extended: bool, multiline: bool, ignore_case: bool
) -> None:
    try:
        compile_posix(pattern, extended=extended, multiline=multiline, ignore_case=ignore_case)
    except PosixRegexError as error:
        assert str(error)


@PROPERTY
@given(any_text, st.lists(st.text(max_size=30), max_size=5))
def test_aliases_file_parses_or_names_a_line_and_lookups_never_raise(
    text: str, names: list[str]
) -> None:
    try:
        aliases = parse_aliases_file(text, PATH)
    except MapFileError as error:
        check_error(error, text)
        return
    for name in aliases:
        values = aliases.lookup(name)
        assert values and all(isinstance(value, str) and value for value in values)
    for name in names:
        aliases.lookup(name)


@PROPERTY
@given(any_text, st.lists(st.text(max_size=30), max_size=5), st.text(max_size=3), st.booleans())
def test_address_map_parses_or_names_a_line_and_lookups_never_raise(
    text: str, addresses: list[str], delimiters: str, local: bool
) -> None:
    try:
        table = parse_address_map(text, PATH)
    except MapFileError as error:
        check_error(error, text)
        return
    for address in addresses:
        table.lookup(address, delimiters=delimiters, local=local)


# -- the router on hostile addresses ---------------------------------------------------------


@pytest.fixture
def router_loop(tmp_path: Path) -> Iterator[tuple[Router, asyncio.AbstractEventLoop]]:
    """A router over the community, with its own event loop for the sync property test."""
    loop = asyncio.new_event_loop()
    url = f"sqlite:///{tmp_path / 'directory.sqlite3'}"

    async def build() -> tuple[Directory, Router]:
        directory = await Directory.connect(DirectoryConfig(url=url), tmp_path)
        await directory.migrate()
        await populate(directory)
        write(
            tmp_path,
            "rewrite",
            r"""
            /^(deleted-account-[0-9]+)@example\.org$/ support+deletedaccounts@example.org
            /^(.*)@old\.example$/ $1@example.org
            /^loop@/ loop@example.org, alice@example.org
        """,
        )
        write(
            tmp_path, "aliases", "support: alice, bob\npostmaster: root\nping: pong\npong: ping\n"
        )
        write(tmp_path, "bcc", "team ping@example.org\n@example.net root@example.org\n")
        config = RoutingConfig(
            rewrite_maps=[Path("rewrite")],
            aliases_file=Path("aliases"),
            recipient_bcc_maps=[Path("bcc")],
            recipient_delimiter="+-",
        )
        router = Router(directory, config, tmp_path, Clock())
        router.load()
        return directory, router

    directory, router = loop.run_until_complete(build())
    yield router, loop
    loop.run_until_complete(directory.close())
    loop.close()


ADDRESS_PARTS = [
    *["alice", "team", "support", "postmaster", "ping", "loop", "deleted-account-7"],
    *["+", "-", "x", ".", "@", " ", "\x00", '"', "é"],
    *["example.org", "example.net", "old.example", "issue.example.org", "elsewhere.example"],
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=80),
        st.text(st.characters(codec=None, categories=None), max_size=20),  # surrogates too
        st.lists(st.sampled_from(ADDRESS_PARTS), max_size=8).map("".join),
    )
)
def test_router_never_raises_on_hostile_addresses(
    router_loop: tuple[Router, asyncio.AbstractEventLoop], address: str
) -> None:
    router, loop = router_loop
    expansion = loop.run_until_complete(router.expand(address))
    recipients = [(d.kind, d.recipient) for d in expansion.deliveries]
    assert len(recipients) == len(set(recipients))
    assert all(d.recipient == d.recipient.lower() for d in expansion.deliveries)
    try:
        loop.run_until_complete(router.check(address))
    except InvalidRecipient:
        assert [f.reason.value for f in expansion.failures] == ["invalid"]
