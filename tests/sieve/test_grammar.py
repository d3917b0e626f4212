"""RFC 5228 §8's grammar as scripts reach it, and the errors that name the line."""

from __future__ import annotations

import pytest

from mailroom.sieve import SieveError, SieveLimits, check_script, compile_script
from tests.support.sieve_world import deliver, message

MAIL = message("From: coyote@desert.example.org\nSubject: birdseed\n")


def error_of(source: str | bytes, limits: SieveLimits | None = None) -> SieveError:
    raw = source.encode("utf-8") if isinstance(source, str) else source
    error = check_script(raw, name="rules", limits=limits or SieveLimits())
    assert error is not None, "the script compiled"
    return error


def test_multiline_string_is_unstuffed_and_keeps_its_lines() -> None:
    outcome = deliver('require "reject";\nreject text:\r\nNo birdseed.\r\n..signed\r\n.\r\n;', MAIL)
    assert outcome.actions[0].reason == "No birdseed.\r\n.signed\r\n"  # type: ignore[union-attr]


def test_multiline_string_with_bare_line_feeds_and_a_comment_after_text() -> None:
    outcome = deliver('require "reject";\nreject text: # why\nGo away.\n.\n;', MAIL)
    assert outcome.actions[0].reason == "Go away.\n"  # type: ignore[union-attr]


def test_text_after_text_colon_is_an_error_naming_the_line() -> None:
    error = error_of('require "reject";\n\nreject text: junk\nGo.\n.\n;')
    assert (error.line, str(error)) == (3, error.script + ": line 3: " + error.message)
    assert "comment" in error.message


def test_bracket_comments_and_hash_comments_are_ignored() -> None:
    outcome = deliver("/* a\n * block */ if /* inline */ true { discard; } # end", MAIL)
    assert outcome.log == ("script1:2: discard",)


def test_numbers_take_k_m_g_quantifiers() -> None:
    raw = message("Subject: x\n", "a" * 2000)
    assert deliver("if size :over 1K { discard; }", raw).log[-1].endswith("discard")
    assert deliver("if size :over 1m { discard; }", raw).actions[0].implicit  # type: ignore[union-attr]


def test_a_number_past_2_to_the_63_is_refused() -> None:
    assert "too large" in error_of("if size :over 99999999999999999G { keep; }").message


def test_quoted_strings_unescape_backslash_and_quote() -> None:
    raw = message('Subject: say "hi" \\ bye\n')
    outcome = deliver(r'if header :is "subject" "say \"hi\" \\ b\ye" { discard; }', raw)
    assert outcome.log == ("script1:1: discard",)


def test_string_lists_and_tagged_arguments_in_any_order() -> None:
    source = (
        'if header :comparator "i;octet" :contains ["to", "subject"] ["seed", "x"] { discard; }'
    )
    assert deliver(source, MAIL).log == ("script1:1: discard",)
    swapped = 'if header :contains :comparator "i;octet" "subject" "SEED" { discard; }'
    assert deliver(swapped, MAIL).actions[0].implicit  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("keep;\nfrobnicate;", 2, "unknown command"),
        ("keep;\nif frob { keep; }", 2, "unknown command"),
        ('keep;\n\nfileinto "x";', 3, 'require "fileinto"'),
        ('require "fileinto";\nkeep;\nrequire "reject";', 3, "before any other"),
        ('require "nosuch";', 1, "unsupported extension"),
        ('if header :comparator "i;nope" "a" "b" { keep; }', 1, "unknown comparator"),
        ('if header :comparator "i;ascii-numeric" "a" "b" { keep; }', 1, "comparator-"),
        (
            'require "comparator-i;ascii-numeric";\n'
            'if header :contains :comparator "i;ascii-numeric" "a" "1" { keep; }',
            2,
            "cannot",
        ),
        ('redirect "not an address";', 1, "not an address"),
        ('if header :count "gt" "a" "1" { keep; }', 1, 'require "relational"'),
        ('require "relational";\nif header :count "xx" "a" "1" { keep; }', 2, "relation"),
        ("keep\n", 2, "expected"),
        ("if true { keep; ", 1, "expected"),
        ("else { keep; }", 1, "must follow"),
        ("if true keep;", 1, ""),
        ('if header :is "a" { keep; }', 1, ""),
        ('keep "extra";', 1, ""),
        ('require "variables";\nset "1bad" "x";', 2, "variable name"),
        ('require "variables";\nset "a" "${foo.bar}";', 2, "namespace"),
        ('if header :is "bad name:" "x" { keep; }', 1, "header field name"),
        ("if size 10 { keep; }", 1, ":over or :under"),
        ('notify "mailto:x@example.org";', 1, "unknown command"),
    ],
)
def test_invalid_scripts_are_refused_naming_the_line(source: str, line: int, words: str) -> None:
    error = error_of(source)
    assert error.line == line, error
    assert words in error.message
    assert str(error).startswith(f"rules: line {line}: ")


def test_deep_nesting_stops_at_the_limit_without_recursion_error() -> None:
    for depth in (100_000,):
        ifs = "if true {" * depth + "keep;" + "}" * depth
        assert "nested deeper" in error_of(ifs).message
        tests = "if " + "allof(" * depth + "true" + ")" * depth + " { keep; }"
        assert "nested deeper" in error_of(tests).message
        nots = "if " + "not " * depth + "true { keep; }"
        assert "nested deeper" in error_of(nots).message


def test_nesting_within_the_limit_compiles_and_runs() -> None:
    depth = SieveLimits().max_nesting_depth // 2 - 1
    source = "if " + "allof(" * depth + "true" + ")" * depth + " { discard; }"
    assert deliver(source, MAIL).log == ("script1:1: discard",)


def test_a_script_over_the_size_limit_is_refused_before_parsing() -> None:
    error = error_of(b"keep;" * 100, SieveLimits(max_script_size=100))
    assert error.line == 0 and "larger than 100" in error.message
    assert str(error) == "rules: the script is larger than 100 octets"


def test_invalid_utf8_in_a_string_is_an_error() -> None:
    error = error_of(b'if header :is "subject" "\xff\xfe" { keep; }')
    assert error.line == 1 and "utf-8" in error.message


def test_nul_is_an_error_inside_and_outside_strings() -> None:
    assert error_of(b'if header :is "subject" "a\x00b" { keep; }').message.startswith("a NUL")
    assert error_of(b"keep;\n\x00").line == 2


def test_compile_script_raises_the_error_check_script_returns() -> None:
    with pytest.raises(SieveError) as raised:
        compile_script(b"keep;\nfrob;", name="x", limits=SieveLimits())
    assert str(raised.value) == "x: line 2: unknown command 'frob'"
    assert check_script(b"keep;", name="x", limits=SieveLimits()) is None
