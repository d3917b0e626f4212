"""aliases(5) files (`mailroom.routing.aliases_file.parse_aliases_file`), the legacy
`/etc/aliases` the server reads as it is.

The input is the file's text (UTF-8; invalid octets replaced, as `read_map_file` refuses
them before this parser runs). Contract: an `AliasesFile`, or `MapFileError` whose text
is one line; every name it lists looks up (in any case) to a non-empty tuple of values.
A crash: any other exception or broken invariant.
"""

from __future__ import annotations

from mailroom.routing import MapFileError, parse_aliases_file


def one_input(data: bytes) -> None:
    try:
        aliases = parse_aliases_file(data.decode("utf-8", "replace"), "aliases")
    except MapFileError as error:
        assert "\n" not in str(error) and "\r" not in str(error), error
        return
    for name in aliases:
        values = aliases.lookup(name.upper())
        assert values and all(isinstance(value, str) and value for value in values), name
        assert name in aliases
