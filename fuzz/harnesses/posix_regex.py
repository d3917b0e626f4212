"""POSIX regular expressions into Python's (`mailroom.message.posix_regex`), used by
regexp_table(5) files and Sieve's `:regex` (RFC 5229: a member's script).

The input is a pattern, translated and compiled in all four combinations of extended
or basic syntax and multi-line mode. Contract: a compiled `re.Pattern`, or
`PosixRegexError` (a `ValueError`) saying what is wrong; never `re.error` or another
exception (that would be a translation the module got wrong). A compiled pattern is
searched in a few short subjects (short enough that backtracking stays bounded: the
pattern's author is trusted with that, the subject's length is bounded by the callers).
A crash: any other exception.
"""

from __future__ import annotations

from mailroom.message.posix_regex import PosixRegexError, compile_posix

SUBJECTS = ("", "a", "user@example.org", "A.b-c+d\n", "\u00e9t\u00e9")


def one_input(data: bytes) -> None:
    pattern = data.decode("utf-8", "replace")
    for extended in (True, False):
        for multiline in (False, True):
            try:
                regex = compile_posix(
                    pattern, ignore_case=extended, extended=extended, multiline=multiline
                )
            except PosixRegexError as error:
                assert str(error), pattern
                continue
            for subject in SUBJECTS:
                regex.search(subject)
