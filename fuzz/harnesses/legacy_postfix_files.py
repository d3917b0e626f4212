"""The legacy host's files as `mailroom import legacy` reads them
(`mailroom.legacy.postfix_files`): /etc/aliases, Postfix's transport map, and the map
files the server then reads as they are (a regexp_table, a `key value` map).

The input is a file's octets, written to a scratch file as the import finds it on disk.
Contract: each reader returns what it carries over and the lines it skips (each with
its place and a one-line reason), or raises `MapFileError` for a file it cannot read at
all (not UTF-8, a continuation with nothing before it). A crash: any other exception.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from mailroom.legacy.postfix_files import read_etc_aliases, read_map_copy, read_transport
from mailroom.legacy.records import Skipped
from mailroom.routing import MapFileError

_scratch: Path | None = None


def _directory() -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="mailroom-fuzz-legacy-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def _check(skipped: tuple[Skipped, ...]) -> None:
    for item in skipped:
        assert item.reason and "\n" not in item.reason and "\r" not in item.reason, item


def one_input(data: bytes) -> None:
    directory = _directory()
    source = directory / "map"
    source.write_bytes(data)
    try:
        aliases, skipped = read_etc_aliases(source)
        _check(skipped)
        assert all(alias.values for alias in aliases), aliases
    except MapFileError:
        pass
    try:
        _, skipped = read_transport(source)
        _check(skipped)
    except MapFileError:
        pass
    for kind in ("rewrite_maps", "recipient_bcc_maps"):
        copy = read_map_copy(kind, source, directory / "copy")
        if isinstance(copy, Skipped):
            assert "\n" not in copy.reason and "\r" not in copy.reason, copy
