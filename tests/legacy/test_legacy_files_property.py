"""The readers of the legacy host's files take anything a file may hold: hostile text
gives entries and reported lines, or one MapFileError for a file that cannot be read at
all; never a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.legacy import read_etc_aliases, read_transport
from mailroom.routing import MapFileError
from mailroom.routing.map_file import MAX_MAP_FILE_BYTES
from mailroom.routing.transport_map import parse_transport_map

LINES = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(
            [
                "lists.cacert.org smtp:[127.0.0.1]:1",
                "x smtp:",
                "* relay:[a]",
                "a@b smtp:[c]",
                "root: |/bin/sh",
                'name: "quoted, comma" <x@y>',
                "  continued",
                "#comment",
                "\udcff",
            ]
        ),
    ),
    max_size=30,
)


ON_DISK = settings(
    # Every example writes a file: on a shared, loaded machine one write can take longer
    # than hypothesis's 200 ms default without anything being wrong, so no deadline; a
    # reader that hangs still fails, by the suite's per-test timeout (pyproject).
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _write(path: Path, lines: list[str], tail: bytes) -> None:
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + tail)


@settings(ON_DISK, max_examples=150)
@given(LINES, st.binary(max_size=8))
def test_transport_reading_never_crashes(tmp_path: Path, lines: list[str], tail: bytes) -> None:
    path = tmp_path / "transport"
    _write(path, lines, tail)
    try:
        entries, skipped = read_transport(path)
    except MapFileError as error:
        assert "\n" not in str(error)
        return
    assert len(entries) + len(skipped) <= len(lines) + 1
    assert all(item.reason.isprintable() for item in skipped)


@settings(ON_DISK, max_examples=150)
@given(LINES, st.binary(max_size=8))
def test_aliases_reading_never_crashes(tmp_path: Path, lines: list[str], tail: bytes) -> None:
    path = tmp_path / "aliases"
    _write(path, lines, tail)
    try:
        entries, _ = read_etc_aliases(path)
    except MapFileError as error:
        assert "\n" not in str(error)
        return
    assert all(entry.values for entry in entries)


def test_a_huge_transport_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "transport"
    with path.open("wb") as stream:
        stream.truncate(MAX_MAP_FILE_BYTES + 1)  # past the limit, without writing it
    try:
        read_transport(path)
    except MapFileError as error:
        assert "larger than" in str(error)
    else:
        raise AssertionError("a file past the limit was read")


@settings(ON_DISK, max_examples=200)
@given(LINES)
def test_the_import_reads_a_transport_line_as_the_server_does(
    tmp_path: Path, lines: list[str]
) -> None:
    """One parser (routing's) for both: every entry the import takes is the entry the
    server's transport table has for that domain."""
    path = tmp_path / "transport"
    _write(path, lines, b"")
    try:
        entries, _ = read_transport(path)
    except MapFileError:
        return
    for domain, nexthop in entries:
        line = f"{domain} smtp:{nexthop}"
        entry = parse_transport_map(line, path).get(domain)
        assert entry is not None
        assert entry.nexthop == nexthop
