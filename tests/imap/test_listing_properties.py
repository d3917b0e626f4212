"""Properties of LIST pattern matching (imap/listing.py, RFC 3501 §6.3.8): `*` matches
anything, `%` anything but the separator, everything else itself; INBOX in any case;
whatever the pattern, an answer comes, and over the wire a hostile pattern gets a
tagged reply on a connection that goes on."""

from __future__ import annotations

import random
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.imap.listing import MAX_PATTERN, full_pattern, matches
from tests.support.imap_talk import ImapTalk

FAST = settings(max_examples=500, deadline=None)
SEPARATORS = st.sampled_from([".", "/"])
SMALL_ALPHABET = "ab.*%/"
names = st.text(alphabet="abAB./ äI", max_size=12)
patterns = st.text(alphabet=SMALL_ALPHABET + "AB", max_size=10)
anything = st.text(max_size=60)


def reference_match(name: str, pattern: str, separator: str) -> bool:
    """The meaning of a pattern, written the obvious (backtracking) way; fine for the
    short patterns these tests draw."""
    regex = "".join(
        ".*" if c == "*" else f"[^{re.escape(separator)}]*" if c == "%" else re.escape(c)
        for c in pattern
    )
    return re.fullmatch(regex, name, re.DOTALL) is not None


def not_inbox(name: str, separator: str) -> bool:
    return name.partition(separator)[0].upper() != "INBOX"


@FAST
@given(anything, anything, SEPARATORS)
def test_matching_never_raises(name: str, pattern: str, separator: str) -> None:
    assert matches(name, pattern, separator) in (True, False)


@FAST
@given(names, patterns, SEPARATORS)
def test_matching_agrees_with_the_plain_meaning_of_wildcards(
    name: str, pattern: str, separator: str
) -> None:
    if not_inbox(name, separator):
        assert matches(name, pattern, separator) == reference_match(name, pattern, separator)


@FAST
@given(names, SEPARATORS)
def test_star_matches_every_name(name: str, separator: str) -> None:
    assert matches(name, "*", separator)


@FAST
@given(names, SEPARATORS)
def test_percent_matches_exactly_the_names_without_separator(name: str, separator: str) -> None:
    assert matches(name, "%", separator) == (separator not in name)


@FAST
@given(names, SEPARATORS)
def test_a_name_without_wildcards_matches_itself(name: str, separator: str) -> None:
    assert matches(name, name, separator)


@FAST
@given(names, names, SEPARATORS)
def test_a_pattern_without_wildcards_matches_no_other_name(
    name: str, other: str, separator: str
) -> None:
    if other != name and not_inbox(name, separator):
        assert not matches(name, other, separator)


@FAST
@given(names, names, SEPARATORS)
def test_prefix_star_matches_exactly_the_names_with_that_prefix(
    prefix: str, rest: str, separator: str
) -> None:
    name = prefix + rest
    if not_inbox(name, separator):
        assert matches(name, prefix + "*", separator)
        assert matches(name, prefix + "%", separator) == (separator not in rest)


@FAST
@given(st.text(alphabet="iInNbBoOxX", min_size=5, max_size=5), SEPARATORS, names)
def test_inbox_matches_in_any_case(spelling: str, separator: str, rest: str) -> None:
    if spelling.upper() != "INBOX":
        return
    assert matches("INBOX", spelling, separator)
    child = "INBOX" + separator + rest
    assert matches(child, spelling + separator + "*", separator)


@FAST
@given(st.text(alphabet="abcdABCD", max_size=10), SEPARATORS)
def test_case_folding_is_only_for_inbox(level: str, separator: str) -> None:
    name = "Work" + level
    assert not matches(name.lower(), name, separator)
    assert not matches(name, name.upper(), separator)


@FAST
@given(names, names, SEPARATORS)
def test_the_reference_prefixes_the_pattern(reference: str, pattern: str, separator: str) -> None:
    joined = full_pattern(reference, pattern, separator)
    if reference.endswith(separator) and pattern.startswith(separator):
        assert joined == reference + pattern[1:]
    else:
        assert joined == reference + pattern


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["*", "%", "a", "b", "*a", "%a", "."]), min_size=30, max_size=120),
    st.integers(min_value=50, max_value=255),
)
@example(["*a"] * 60 + ["b"], 255)
@example(["%a"] * 60 + ["b"], 255)
def test_a_pattern_of_many_wildcards_is_answered(pieces: list[str], length: int) -> None:
    # A backtracking matcher takes longer than any test run for "*a*a*a…b" on "aaaa…".
    pattern = "".join(pieces)
    name = "a" * length
    assert matches(name, pattern, ".") == reference_match_linear(name, pattern, ".")


def reference_match_linear(name: str, pattern: str, separator: str) -> bool:
    """Dynamic programming over (pattern position, name position): the same meaning
    as `reference_match`, without backtracking, for long inputs."""
    reachable = [True] + [False] * len(name)
    for char in pattern:
        following = [False] * (len(name) + 1)
        if char == "*":
            seen = False
            for index in range(len(name) + 1):
                seen = seen or reachable[index]
                following[index] = seen
        elif char == "%":
            for index in range(len(name) + 1):
                following[index] = reachable[index] or (
                    index > 0 and following[index - 1] and name[index - 1] != separator
                )
        else:
            for index in range(1, len(name) + 1):
                following[index] = reachable[index - 1] and name[index - 1] == char
        reachable = following
    return reachable[-1]


def test_a_pattern_longer_than_the_limit_matches_nothing() -> None:
    assert not matches("Work", "*" * (MAX_PATTERN + 1), ".")
    assert matches("Work", "*" * MAX_PATTERN, ".")


# -- over the wire ---------------------------------------------------------------------------

HOSTILE_PIECES = ["*", "%", "a", ".", "..", "/", "&", "&AOQ-", "&AOQ", "~", "\\\\", '\\"', "INBOX"]


def hostile_patterns(count: int) -> list[str]:
    generator = random.Random(7162)
    out = []
    for _ in range(count):
        pieces = generator.choices(HOSTILE_PIECES, k=generator.randint(0, 80))
        out.append("".join(pieces))
    return out


async def test_hostile_patterns_over_the_wire_get_a_tagged_answer(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE " + "a" * 200)).ok
    assert (await alice.command("CREATE a.b.c")).ok
    for pattern in hostile_patterns(150):
        for command in (f'LIST "" "{pattern}"', f'LSUB "{pattern}" "{pattern}"'):
            reply = await alice.command(command)
            assert reply.status in ("OK", "NO", "BAD"), (command, reply.tagged)
            assert b"SERVERBUG" not in reply.tagged, (command, reply.tagged)
    reply = await alice.command('LIST "" "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"')
    assert reply.ok and reply.untagged == []
    assert (await alice.command("NOOP")).ok
