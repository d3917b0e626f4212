"""What every Postfix table source shares (`mailroom.routing.map_file.logical_lines`,
readlline(3)'s logical lines) and the `key value` tables on it
(`mailroom.routing.address_map`: recipient_bcc_maps, the legacy `cacert-inc-bcc`).

The input is a table's text. Contract: `logical_lines` yields lines with increasing
numbers and no trailing whitespace, or raises `MapFileError` (a continuation with
nothing to continue); `parse_address_map` gives an `AddressMap` or `MapFileError`, and
every key it holds looks up to its value. A crash: any other exception or broken
invariant.
"""

from __future__ import annotations

from mailroom.routing import MapFileError, parse_address_map
from mailroom.routing.map_file import WHITESPACE, logical_lines


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        previous = 0
        for line in logical_lines(text, "map"):
            assert line.number > previous and line.text, line
            assert line.text == line.text.rstrip(WHITESPACE), line
            assert line.text[0] not in WHITESPACE, line
            previous = line.number
    except MapFileError as error:
        assert "\n" not in str(error) and "\r" not in str(error), error
    try:
        table = parse_address_map(text, "bcc")
    except MapFileError as error:
        assert "\n" not in str(error) and "\r" not in str(error), error
        return
    for entry in table:
        key = entry.key
        address = key if "@" in key and not key.startswith("@") else f"someone{key}"
        if "@" not in key:
            address = f"{key}@example.org"
        assert table.lookup(address, delimiters="+") is not None, entry
