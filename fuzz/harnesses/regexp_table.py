"""Postfix regexp_table(5) files (`mailroom.routing.regexp_table.parse_regexp_table`),
the legacy `arbitration` rewrites; through it, `posix_regex` and `map_file`'s logical
lines.

The input is the table's text. Contract: a `RegexpTable`, or `MapFileError` whose text
is one line; `lookup` of a few short keys returns a string or None and never raises
(substitutions refer only to groups the pattern has). The keys are short: a pattern's
backtracking is its author's (the operator's) to bound. A crash: any other exception.
"""

from __future__ import annotations

from mailroom.routing import MapFileError, parse_regexp_table

KEYS = ("", "user@example.org", "Bob+tag@Sub.Example.ORG", "a\nb", "x" * 20)


def one_input(data: bytes) -> None:
    try:
        table = parse_regexp_table(data.decode("utf-8", "replace"), "arbitration")
    except MapFileError as error:
        assert "\n" not in str(error) and "\r" not in str(error), error
        return
    for key in KEYS:
        found = table.match(key)
        assert found is None or (isinstance(found.result, str) and found.line >= 1), found
    for line, result in table.literal_results():
        assert line >= 1 and result
