"""Reading the legacy host's files: /etc/aliases (receive-only aliases), Postfix's
`transport` map, and the map files Mailroom reads as they are (`arbitration`, a
regexp_table(5); `cacert-inc-bcc`, recipient_bcc_maps).

Unlike the server, which refuses a whole file at its first mistake, the import goes line
by line: what one line cannot carry over (a `|command` alias, an `error:` transport) is
reported with its line and the rest is imported. Each line is parsed by the very parser
the server uses, so what is imported is what the server accepts.
"""

from __future__ import annotations

from pathlib import Path

from mailroom.legacy.records import EtcAlias, MapCopy, Skipped
from mailroom.routing import MapFileError, load_address_map, load_regexp_table, parse_aliases_file
from mailroom.routing.map_file import logical_lines, read_map_file
from mailroom.routing.transport_map import WILDCARD, parse_transport_line


def read_etc_aliases(path: Path) -> tuple[tuple[EtcAlias, ...], tuple[Skipped, ...]]:
    """The entries of an aliases(5) file and the lines that cannot be carried over.
    MapFileError if the file cannot be read at all."""
    entries: dict[str, EtcAlias] = {}
    skipped: list[Skipped] = []
    for line in logical_lines(read_map_file(path), path):
        try:
            parsed = parse_aliases_file(line.text, path)
        except MapFileError as error:
            skipped.append(Skipped(f"{path}:{line.number}", error.message))
            continue
        for name in parsed:
            values = parsed.lookup(name) or ()
            if name in entries:
                first = entries[name].line
                skipped.append(
                    Skipped(
                        f"{path}:{line.number}",
                        f"{name!r} repeats line {first}; Postfix uses the first",
                    )
                )
                continue
            entries[name] = EtcAlias(name, values, line.number)
    return tuple(entries.values()), tuple(skipped)


def _transport_line(path: Path, line: int, text: str) -> tuple[str, str]:
    """(domain, normalised next hop) of one transport(5) line, as routing's parser reads
    it, for the directory's transports (one exact domain, one next hop each); MapFileError
    naming the line why not."""
    entry = parse_transport_line(text, path, line)
    if entry.key == WILDCARD:
        raise MapFileError(
            path, line, "'*': a transport for every domain is [delivery] relayhost here"
        )
    if entry.key.startswith("."):
        raise MapFileError(
            path,
            line,
            f"{entry.key}: subdomain patterns are not directory transports; list each domain, "
            "or use the file as [routing] transport_maps",
        )
    if entry.nexthop is None:
        raise MapFileError(
            path, line, f"{entry.key}: no next hop (its own MX hosts are used anyway)"
        )
    return entry.key, entry.nexthop


def read_transport(path: Path) -> tuple[tuple[tuple[str, str], ...], tuple[Skipped, ...]]:
    """The domain → next hop entries of a Postfix transport(5) map, and the lines that
    cannot be carried over. MapFileError if the file cannot be read at all."""
    found: dict[str, str] = {}
    skipped: list[Skipped] = []
    for line in logical_lines(read_map_file(path), path):
        try:
            domain, nexthop = _transport_line(path, line.number, line.text)
        except MapFileError as error:
            # Its message keeps the file's control characters from breaking lines.
            skipped.append(Skipped(f"{path}:{line.number}", error.message))
            continue
        if domain in found:
            skipped.append(
                Skipped(f"{path}:{line.number}", f"{domain} repeats; Postfix uses the first")
            )
            continue
        found[domain] = nexthop
    return tuple(sorted(found.items())), tuple(skipped)


def read_map_copy(kind: str, source: Path, target: Path) -> MapCopy | Skipped:
    """A map file the server reads as it is, checked by the server's own parser: the copy
    to make, or why it cannot be used (the first mistake, with its line)."""
    try:
        if kind == "rewrite_maps":
            load_regexp_table(source)
        else:
            load_address_map(source)
        text = read_map_file(source)
    except MapFileError as error:
        return Skipped(str(source), str(error))
    return MapCopy(kind, source, target, text)
