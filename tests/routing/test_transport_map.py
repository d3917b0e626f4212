"""`[routing] transport_maps`: Postfix transport(5) files, their parser, its search order
(`domain`, `.parent`, `*`), and how routing and delivery use them beside the directory's
transports."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config import RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import MapFileError, RecipientVerdict, Router
from mailroom.routing.transport_map import (
    TransportMap,
    find_transport,
    parse_transport_map,
    search_keys,
)
from tests.support.routing_community import Clock, deliveries, write

PATH = "/etc/mailroom/transport"

LEGACY = """\
# the legacy host's transport map
lists.example.org    smtp:[lists.internal.example.org]
issue.example.org    smtp:[issue.internal.example.org]:2525
.sub.example.com     relay:[hub.example.com]:587
partner.example      :mx.partner.example
"""


def table(text: str) -> TransportMap:
    return parse_transport_map(text, PATH)


def nexthop_of(tables: list[TransportMap], domain: str) -> str | None:
    match = find_transport(tables, lambda domain: None, domain)
    return None if match is None else match.nexthop


def test_the_legacy_lines_are_read_with_their_next_hops_normalised() -> None:
    tables = [table(LEGACY)]
    assert nexthop_of(tables, "lists.example.org") == "[lists.internal.example.org]:25"
    assert nexthop_of(tables, "issue.example.org") == "[issue.internal.example.org]:2525"
    assert nexthop_of(tables, "partner.example") == "mx.partner.example:25"


def test_a_dot_pattern_matches_subdomains_only() -> None:
    tables = [table(LEGACY)]
    assert nexthop_of(tables, "a.b.sub.example.com") == "[hub.example.com]:587"
    assert find_transport(tables, lambda domain: None, "sub.example.com") is None


def test_the_search_order_is_domain_then_parents_then_the_wildcard() -> None:
    assert search_keys("a.b.example.org") == [
        "a.b.example.org",
        ".b.example.org",
        ".example.org",
        ".org",
        "*",
    ]


def test_a_wildcard_routes_but_grants_no_relaying() -> None:
    tables = [table("*  smtp:[smarthost.example]:587\nlocal.example  :\n")]
    match = find_transport(tables, lambda domain: None, "anywhere.example")
    assert match is not None and match.nexthop == "[smarthost.example]:587"
    assert not match.grants_relay
    # an empty next hop cancels the wildcard: the usual route, as in Postfix
    cancelled = find_transport(tables, lambda domain: None, "local.example")
    assert cancelled is not None and cancelled.nexthop is None


def test_a_more_specific_key_in_a_later_table_beats_an_earlier_wildcard() -> None:
    tables = [table("*  smtp:[smarthost.example]\n"), table("x.example  smtp:[x-mx.example]\n")]
    assert nexthop_of(tables, "x.example") == "[x-mx.example]:25"


def test_the_directorys_transport_comes_after_the_files_entry_for_the_domain() -> None:
    directory = {"lists.example.org": "[from-directory.example]:25"}.get
    match = find_transport([table(LEGACY)], directory, "lists.example.org")
    assert match is not None and match.nexthop == "[lists.internal.example.org]:25"
    match = find_transport([table("*  smtp:[hub.example]\n")], directory, "lists.example.org")
    assert match is not None and match.nexthop == "[from-directory.example]:25"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("example.org  local:", "'local' is not supported"),
        ("example.org  error:mail for example.org is not accepted", "'error' is not supported"),
        ("example.org  lmtp:unix:private/dovecot-lmtp", "'lmtp' is not supported"),
        ("example.org  [host.example]", "expected transport:nexthop"),
        ("example.org", "expected 'pattern transport:nexthop'"),
        ("alice@example.org  smtp:[host.example]", "user@domain patterns are not supported"),
        ("example.org  smtp:[host.example]:99999", "port 99999"),
        ("example.org  smtp:[host.example] x", "one transport:nexthop per line"),
        ("bad..domain  smtp:[host.example]", "is not domain, .domain or *"),
    ],
)
def test_what_has_no_counterpart_is_refused_naming_file_and_line(line: str, says: str) -> None:
    with pytest.raises(MapFileError) as caught:
        table(f"# a comment\n{line}\n")
    assert str(caught.value).startswith(f"{PATH}:2: ")
    assert says in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_a_duplicate_pattern_keeps_the_first_entry() -> None:
    tables = [table("x.example smtp:[one.example]\nX.Example smtp:[two.example]\n")]
    assert nexthop_of(tables, "x.example") == "[one.example]:25"


# -- hostile input ------------------------------------------------------------------------

FRAGMENTS = [
    *["smtp:", "relay:", ":", "local:", "error:", "[", "]", "[::1]", ":25", ":99999", "*"],
    *[".", "..", ".example", "example.org", "@", "a@b", "é", "xn--", "\x00", "\udcff"],
    *[" ", "\t", "\r", "#", "\u2028", "\\", "-", "0", "x" * 70],
]
hostile_line = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)
hostile_text = st.one_of(st.text(max_size=300), st.lists(hostile_line, max_size=8).map("\n".join))


@settings(max_examples=400, deadline=None)
@given(hostile_text, st.lists(st.text(max_size=40), max_size=4))
def test_hostile_tables_parse_or_name_a_line_and_lookups_never_raise(
    text: str, domains: list[str]
) -> None:
    try:
        parsed = parse_transport_map(text, PATH)
    except MapFileError as error:
        assert error.path == Path(PATH)
        assert error.line is not None and 1 <= error.line <= text.count("\n") + 1
        assert len(str(error).splitlines()) == 1
        return
    for domain in domains:
        match = find_transport([parsed], lambda domain: None, domain.lower())
        assert match is None or match.nexthop is None or match.nexthop.count(":") >= 1


def test_a_huge_file_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    from mailroom.routing.map_file import MAX_MAP_FILE_BYTES
    from mailroom.routing.transport_map import load_transport_map

    path = tmp_path / "transport"
    with path.open("wb") as stream:
        stream.truncate(MAX_MAP_FILE_BYTES + 1)
    with pytest.raises(MapFileError, match="larger than"):
        load_transport_map(path)


def test_invalid_utf8_is_refused_naming_its_line(tmp_path: Path) -> None:
    from mailroom.routing.transport_map import load_transport_map

    path = tmp_path / "transport"
    path.write_bytes(b"a.example smtp:[a]\nb.example smtp:[\xff]\n")
    with pytest.raises(MapFileError, match=r"transport:2: not UTF-8"):
        load_transport_map(path)


# -- through the router -------------------------------------------------------------------


def router_with(directory: Directory, tmp_path: Path, clock: Clock, *texts: str) -> Router:
    config = RoutingConfig(
        transport_maps=[
            write(tmp_path, f"transport{index}", text).relative_to(tmp_path)
            for index, text in enumerate(texts)
        ]
    )
    router = Router(directory, config, tmp_path, clock)
    router.load()
    return router


async def test_a_domain_in_a_transport_map_is_relayed_to_its_next_hop(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    router = router_with(directory, tmp_path, clock, "relayed.example  smtp:[127.0.0.1]:2525\n")
    route = await router.route("anyone@relayed.example")
    assert route.verdict is RecipientVerdict.RELAY
    assert deliveries(route.expansion) == ["relay anyone@relayed.example via [127.0.0.1]:2525"]
    assert await router.nexthop("relayed.example") == "[127.0.0.1]:2525"


async def test_a_wildcard_entry_does_not_make_the_host_an_open_relay(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    router = router_with(directory, tmp_path, clock, "*  smtp:[smarthost.example]:587\n")
    route = await router.route("friend@elsewhere.example")
    assert route.verdict is RecipientVerdict.REMOTE
    assert await router.nexthop("elsewhere.example") == "[smarthost.example]:587"
    # local domains are still delivered locally
    assert deliveries((await router.route("alice@example.org")).expansion) == [
        "local alice@example.org"
    ]


async def test_reload_takes_a_changed_file_and_keeps_the_last_good_one(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    router = router_with(directory, tmp_path, clock, "relayed.example  smtp:[one.example]\n")
    write(tmp_path, "transport0", "relayed.example  smtp:[two.example]\n")
    assert router.reload()
    assert await router.nexthop("relayed.example") == "[two.example]:25"
    write(tmp_path, "transport0", "relayed.example  lmtp:[three.example]\n")
    assert not router.reload()
    assert await router.nexthop("relayed.example") == "[two.example]:25"
