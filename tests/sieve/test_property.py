"""Property tests: hostile scripts give a Script or a SieveError, never another
exception; a run never raises; :matches agrees with a reference implementation."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.sieve import SieveError, SieveLimits, compile_script, run
from mailroom.sieve.wildcard import compile_wildcard
from tests.support.sieve_world import context, message

LIMITS = SieveLimits(max_steps=20_000)

TOKENS = [
    "if",
    "elsif",
    "else",
    "require",
    "stop",
    "keep",
    "discard",
    "fileinto",
    "redirect",
    "header",
    "address",
    "envelope",
    "exists",
    "size",
    "allof",
    "anyof",
    "not",
    "true",
    "false",
    "set",
    "string",
    "include",
    "return",
    "global",
    "setflag",
    "hasflag",
    "reject",
    "ereject",
    "mailboxexists",
    ":is",
    ":contains",
    ":matches",
    ":regex",
    ":count",
    ":value",
    ":comparator",
    ":over",
    ":under",
    ":copy",
    ":create",
    ":flags",
    ":index",
    ":last",
    ":lower",
    ":length",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    '"subject"',
    '"*"',
    '"i;octet"',
    '"gt"',
    '"${1}"',
    '"${hex:41}"',
    '"a@b.c"',
    '"fileinto"',
    '"variables"',
    '"relational"',
    '"regex"',
    '"imap4flags"',
    "10K",
    "0",
    "text:\n.\n",
    "text:\nx\n..y\n.\n",
    "# c\n",
    "/* c */",
    "\n",
    '"\\"',
    "\x00",
    "\xff",
]

SCRIPTS = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=60).map(
        lambda t: " ".join(t).encode("utf-8", "surrogateescape")
    ),
)

MAIL = message("From: a@example.org\nTo: b@example.org\nSubject: Test subject\n")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCRIPTS)
def test_any_script_compiles_or_raises_sieve_error(source: bytes) -> None:
    try:
        script = compile_script(source, name="fuzz", limits=LIMITS)
    except SieveError as error:
        assert error.script == "fuzz" and error.line >= 0
        return
    outcome = run([script], context(MAIL), LIMITS)
    assert outcome.actions


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=5), st.sampled_from(["if true {", "if allof(", "if not "])
)
def test_hostile_nesting_is_an_error_not_a_crash(scale: int, opener: str) -> None:
    depth = 20_000 * scale
    closer = {"if true {": "}", "if allof(": ")", "if not ": ""}[opener]
    tail = {"if true {": "keep;", "if allof(": "true", "if not ": "true {keep;}"}[opener]
    source = (opener * depth + tail + closer * depth).encode()
    try:
        compile_script(source, name="deep", limits=LIMITS)
    except SieveError as error:
        assert "nested" in error.message or error.line >= 1


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=64))
def test_huge_literals_are_bounded_by_the_size_limit(chunk: bytes) -> None:
    source = b'if header :is "s" "' + chunk * (2 * 1024 * 1024 // len(chunk)) + b'" { keep; }'
    try:
        compile_script(source, name="big", limits=LIMITS)
    except SieveError as error:
        assert "larger than" in error.message


def reference(pattern: str, value: str, ci: bool) -> tuple[str, ...] | None:
    """:matches as a lazy regular expression (RFC 5229 §3.2's reading)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append("(.*?)" if c == "*" else "(.)" if c == "?" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if ci else 0)
    found = re.fullmatch("".join(out), value, flags)
    return None if found is None else tuple(found.groups())


ALPHABET = st.sampled_from(list("abAB*?\\.é"))


@settings(max_examples=1500, deadline=None)
@given(
    st.text(ALPHABET, max_size=8),
    st.text(st.sampled_from(list("abAB*?.é\\")), max_size=12),
    st.booleans(),
)
def test_matches_agrees_with_the_reference(pattern: str, value: str, ci: bool) -> None:
    assert compile_wildcard(pattern, ci).match(value) == reference(pattern, value, ci)


def test_matches_takes_linear_work_on_a_hostile_pattern() -> None:
    pattern = "*a" * 40 + "*b"
    assert compile_wildcard(pattern, False).match("a" * 20_000) is None
