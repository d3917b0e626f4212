"""The `[routing]` table files of the config as the web admin shows them (read-only): each
file's text and whether routing's own loader takes it, read now from disk. The web may
not import routing, so the app reads them for it (`WebServices.routing_map_files`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from mailroom.config import Config
from mailroom.routing import (
    MapFileError,
    parse_address_map,
    parse_aliases_file,
    parse_transport_map,
)
from mailroom.routing.map_file import read_map_file
from mailroom.routing.regexp_table import RegexpTable, parse_regexp_table
from mailroom.routing.router import check_literal_results
from mailroom.web.context import MapFileView


class _Sized(Protocol):
    def __len__(self) -> int: ...


Parser = Callable[[str, Path], _Sized]


def _rewrite_map(text: str, path: Path) -> RegexpTable:
    """A rewrite map as the router takes it: parsed, its literal results checked."""
    table = parse_regexp_table(text, path)
    check_literal_results(table)
    return table


def _view(kind: str, path: Path, parse: Parser) -> MapFileView:
    try:
        text = read_map_file(path)
    except MapFileError as error:
        return MapFileView(kind, str(path), None, None, str(error))
    try:
        entries: int | None = len(parse(text, path))
    except MapFileError as error:
        return MapFileView(kind, str(path), text, None, str(error))
    return MapFileView(kind, str(path), text, entries, None)


def map_file_views(config: Config) -> list[MapFileView]:
    """Every table file the config names, in the order routing consults them. Blocking:
    run it in a thread."""
    routing = config.routing
    base = config.source.parent if config.source else Path.cwd()  # as app.router_for
    named: list[tuple[str, Path, Parser]] = [
        *(("rewrite_maps", path, _rewrite_map) for path in routing.rewrite_maps),
    ]
    if routing.aliases_file is not None:
        named.append(("aliases_file", routing.aliases_file, parse_aliases_file))
    named += [
        ("recipient_bcc_maps", path, parse_address_map) for path in routing.recipient_bcc_maps
    ]
    named += [("transport_maps", path, parse_transport_map) for path in routing.transport_maps]
    return [_view(kind, base / path, parse) for kind, path, parse in named]


def routing_map_files(config: Config) -> Callable[[], Awaitable[Sequence[MapFileView]]]:
    """`map_file_views` off the event loop, for `WebServices.routing_map_files`."""

    async def read() -> Sequence[MapFileView]:
        return await asyncio.to_thread(map_file_views, config)

    return read
