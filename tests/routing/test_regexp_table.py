"""regexp_table(5) files: what Postfix answers, Mailroom answers; what Postfix would skip
with a warning, Mailroom refuses with `file:line:`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailroom.routing import MapFileError, load_regexp_table, parse_regexp_table
from mailroom.routing.regexp_table import MAX_KEY_LENGTH, MAX_RESULT_LENGTH
from tests.support.routing_community import write

# Every answer below was recorded with Postfix 3.7.11 (Debian 12): `postmap -q KEY
# regexp:FILE` on this table. None means postmap found no match.
POSTFIX_TABLE = r"""
/^(deleted-account-[0-9]+)@example\.org$/ support+deletedaccounts@example.org
/^a[\.]b@x$/ bracket-keeps-backslash
/^[[:digit:]]+@x$/ digits
/^[]z]@x$/ bracket-first
/^[^]z]y@x$/ negated-bracket-first
/^lit\{x@x$/ literal-brace
/^(p)\1@x$/ backref
/^)@x$/ lone-rparen
/^(a|ab)(c|bcd)(d*)@x$/ alt-[$1][$2][$3]
/^q(a*)(a*)@x$/ greedy-[$1][$2]
/^CASE@x$/i case-sensitive
/^Upper@x$/ case-insensitive
/^a\(b\)c+@x$/x bre-[$1]
/^*s@x$/x bre-leading-star
/^m\{2\}@x$/x bre-interval
/^n\+@x$/x bre-plus
/^r\|t@x$/x bre-alt
/^w$e@x$/x bre-dollar-literal
if /@y$/
/^(.+)-(.+)@y$/ ${2}.$(1)@z costs $$5
!/^keep/ not-keep-[no-subst]
endif
/^end@/!/^end@x$/ end-but-not-x
/^e{2,3}@/ interval
/^(x)?(y)@w$/ optional-[$1][$2]
/[%!@].*[%!@]/ routing
"""

POSTFIX_ANSWERS = [
    ("deleted-account-12@example.org", "support+deletedaccounts@example.org"),
    ("Deleted-Account-12@Example.ORG", "support+deletedaccounts@example.org"),
    ("a.b@x", "bracket-keeps-backslash"),
    ("a\\b@x", "bracket-keeps-backslash"),
    ("axb@x", None),
    ("123@x", "digits"),
    ("]@x", "bracket-first"),
    ("z@x", "bracket-first"),
    ("ay@x", "negated-bracket-first"),
    ("]y@x", None),
    ("lit{x@x", "literal-brace"),
    ("pp@x", "backref"),
    (")@x", "lone-rparen"),
    ("abcd@x", "alt-[a][bcd][]"),
    ("qaaa@x", "greedy-[aaa][]"),
    ("CASE@x", "case-sensitive"),
    ("case@x", None),
    ("UPPER@x", "case-insensitive"),
    ("abc+@x", "bre-[b]"),
    ("abcc@x", None),
    ("*s@x", "bre-leading-star"),
    ("mm@x", "bre-interval"),
    ("nnn@x", "bre-plus"),
    ("n+@x", None),
    ("r@x", "bre-alt"),
    ("t@x", "bre-alt"),
    ("w$e@x", "bre-dollar-literal"),
    ("one-two@y", "two.one@z costs $5"),
    ("keep@y", None),
    ("keepx@y", None),
    ("other@y", "not-keep-[no-subst]"),
    ("end@q", "end-but-not-x"),
    ("end@x", None),
    ("eee@q", "interval"),
    ("eeee@q", None),
    ("y@w", "optional-[][y]"),
    ("xy@w", "optional-[x][y]"),
    ("a!b@c", "routing"),
    ("nothing", None),
]


@pytest.mark.parametrize(("key", "answer"), POSTFIX_ANSWERS)
def test_lookup_answers_what_postfix_answers(key: str, answer: str | None) -> None:
    table = parse_regexp_table(POSTFIX_TABLE, "postfix-table")
    assert table.lookup(key) == answer


def test_realistic_arbitration_file_rewrites_to_support_addresses(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "arbitration",
        r"""
        # Mail for deleted accounts goes to support; arbitration cases to the tracker.
        /^(deleted-account-[0-9]+)@example\.org$/ support+deletedaccounts@example.org
        /^(arbitration-case-[0-9]+)@example\.org$/
            support@issue.example.org
    """,
    )
    table = load_regexp_table(path)
    assert len(table) == 2
    assert table.lookup("deleted-account-4711@example.org") == "support+deletedaccounts@example.org"
    assert table.lookup("arbitration-case-12@example.org") == "support@issue.example.org"
    assert table.lookup("deleted-account-x@example.org") is None
    assert table.lookup("deleted-account-1@example.org.evil") is None


def test_match_names_the_line_of_the_rule(tmp_path: Path) -> None:
    table = parse_regexp_table("# comment\n\n/^a@/ first\n/^b@/\n  second\n", "t")
    found = table.match("b@x")
    assert found is not None
    assert (found.result, found.line) == ("second", 4)


def test_first_matching_rule_wins() -> None:
    table = parse_regexp_table("/^a/ first\n/^ab/ second\n", "t")
    assert table.lookup("abc") == "first"


def test_pattern_without_anchors_matches_anywhere_in_the_key() -> None:
    table = parse_regexp_table("/evil/ found\n", "t")
    assert table.lookup("not-evil-at-all@example.org") == "found"


def test_any_non_alphanumeric_delimiter_may_enclose_a_pattern() -> None:
    table = parse_regexp_table("|^a/b@| slash\n#comment\n%^c\\%d@% percent\n", "t")
    assert table.lookup("a/b@x") == "slash"
    assert table.lookup("c%d@x") == "percent"


def test_nested_if_blocks_apply_only_when_every_condition_holds() -> None:
    table = parse_regexp_table(
        "if /@example\\.org$/\n"
        "if !/^admin/\n"
        "/^(.*)@/ user-$1\n"
        "endif\n"
        "/^admin/ admin\n"
        "endif\n"
        "/./ elsewhere\n",
        "t",
    )
    assert table.lookup("bob@example.org") == "user-bob"
    assert table.lookup("admin@example.org") == "admin"
    assert table.lookup("bob@example.net") == "elsewhere"


def test_keywords_are_case_insensitive_like_postfix() -> None:
    table = parse_regexp_table("IF /x/\n/^(.)/ $1\nEndIf\n", "t")
    assert table.lookup("ax") == "a"


def test_multiline_flag_makes_anchors_match_at_line_breaks() -> None:
    table = parse_regexp_table("/^b$/m multi\n/^a$/ single\n", "t")
    assert table.lookup("a\nb") == "multi"
    assert table.lookup("a\n") is None  # without m, $ is the very end, not before a newline


def test_substitution_of_an_unmatched_group_is_empty() -> None:
    table = parse_regexp_table("/^(x)?y$/ [$1]\n", "t")
    assert table.lookup("y") == "[]"


def test_keys_longer_than_any_address_match_nothing() -> None:
    table = parse_regexp_table("/./ any\n", "t")
    assert table.lookup("a" * MAX_KEY_LENGTH) == "any"
    assert table.lookup("a" * (MAX_KEY_LENGTH + 1)) is None


def test_overlong_substitution_result_is_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repeats = MAX_RESULT_LENGTH // 900 + 1
    table = parse_regexp_table("/^(.*)$/ " + "$1" * repeats + "\n", "t")
    with caplog.at_level(logging.WARNING):
        assert table.lookup("a" * 900) is None
    assert "t:1: the result" in caplog.text


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("/a/ ok\n/b/\n", 2, "the pattern has no result after it"),
        ("/a/ ok\n/b ok\n", 2, "the pattern has no closing '/'"),
        ("/a/ ok\n\n/(a/ x\n", 3, "bad pattern /(a/: a '(' is never closed"),
        ("/a/q x\n", 1, "unknown flag 'q' after the pattern (flags: i, m, x)"),
        ("/(a)/ $2\n", 1, "$2 refers to group 2, but the pattern has 1 group(s) in ( )"),
        ("!/(a)/ $1\n", 1, "a negated pattern (!/.../) matches nothing to put in the result"),
        ("/a/ $x\n", 1, "$x: only group numbers can be put in a result"),
        ("/a/ cost $\n", 1, "'$': only group numbers can be put in a result"),
        ("/a/ ${1\n", 1, "'${' is never closed by '}'"),
        ("/a/ $0\n", 1, "$0: only group numbers"),
        ("endif\n", 1, "endif without an if before it"),
        ("/x/ y\nif /a/\n/b/ c\n", 2, "this if has no endif"),
        ("if /a/\n  /b/ c\nendif\n", 1, "unexpected text after the if pattern: '/b/ c'"),
        ("if /a/\nendif now\n", 2, "unexpected text after endif"),
        ("hello world\n", 1, "expected /pattern/ result, !/pattern/ result, if /pattern/"),
        ("  /a/ b\n", 1, "this line starts with whitespace"),
        (r"/\d+/ digits" + "\n", 1, r"'\d' means nothing in a POSIX regular expression"),
        ("/(?i)a/ b\n", 1, "'(?' is Python or PCRE syntax"),
        ("/a*?/ b\n", 1, "two repetition operators in a row"),
        ("/[[:word:]]/ b\n", 1, "[:word:] is not a character class"),
        ("/[z-a]/ b\n", 1, "the range z-a is backwards"),
        ("/a{3,1}/ b\n", 1, "the repeat count {3,1} is backwards"),
        ("/a{x}/ b\n", 1, "'{' must start a repeat count like {2}"),
        ("/[abc/ b\n", 1, "a '[' is never closed by ']'"),
        ("/abc\\/ b\n", 1, "the pattern has no closing '/'"),
        ("/^*a/ b\n", 1, "nothing to repeat before '*'"),
    ],
)
def test_mistake_is_refused_naming_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(MapFileError) as caught:
        parse_regexp_table(text, "/etc/mailroom/arbitration")
    assert str(caught.value).startswith(f"/etc/mailroom/arbitration:{line}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (caught.value.line, caught.value.path) == (line, Path("/etc/mailroom/arbitration"))


def test_unreadable_file_is_a_map_file_error(tmp_path: Path) -> None:
    with pytest.raises(MapFileError, match=r"missing: no such file$"):
        load_regexp_table(tmp_path / "missing")
    (tmp_path / "latin1").write_bytes(b"/a/ ok\n/b/ caf\xe9\n")
    with pytest.raises(MapFileError, match=r"latin1:2: not UTF-8 text$"):
        load_regexp_table(tmp_path / "latin1")


def test_comments_and_continuations_follow_postfix() -> None:
    table = parse_regexp_table(
        "# a comment\n"
        "   # an indented comment is a comment too\n"
        "/^a@/\n"
        "# a comment inside a continued line does not end it\n"
        "\tone,\n"
        "  two\n"
        "\n"
        "/^b@/ three\r\n",
        "t",
    )
    assert table.lookup("a@x") == "one,  two"
    assert table.lookup("b@x") == "three"
