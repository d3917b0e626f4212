"""The strace reader the durability tests stand on (tests/support/strace.py): strings
decoded as strace escapes them, calls split by other threads paired up, descriptors'
paths read from `-yy`; hostile text raises TraceError or parses, never anything else."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.support.strace import (
    Trace,
    TraceError,
    decode_string,
    encode_string,
    parse_trace,
    placed_paths,
)

SAMPLE = """\
1365  write(28<TCP:[127.0.0.1:33095->127.0.0.1:39394]>, "354 End data\\r\\n", 14) = 14
1503  openat(AT_FDCWD</w>, "/m/tmp/a", O_WRONLY|O_CREAT|O_EXCL, 0600) = 31</m/tmp/a>
1503  fsync(31</m/tmp/a>)        = 0
1503  openat(AT_FDCWD</w>, "/m/new", O_RDONLY|O_DIRECTORY) = 32</m/new>
1503  linkat(AT_FDCWD</w>, "/m/tmp/a", 32</m/new>, "a,S=3", AT_SYMLINK_FOLLOW) = 0
1503  fsync(32</m/new> <unfinished ...>
1365  write(28<TCP:[127.0.0.1:33095->127.0.0.1:39394]>, "250-early\\r\\n", 11) = 11
1503  <... fsync resumed>)        = 0
--- SIGCHLD {si_signo=SIGCHLD} ---
1365  write(28<TCP:[127.0.0.1:33095->127.0.0.1:39394]>, "250 queued as X\\r\\n", 17) = 17
+++ exited with 0 +++
"""


def test_a_split_call_spans_its_lines() -> None:
    calls = parse_trace(SAMPLE)
    fsync = [call for call in calls if call.name == "fsync"][1]
    assert (fsync.start, fsync.end, fsync.result) == (5, 7, "0")
    assert fsync.path(0) == "/m/new"


def test_link_destination_and_reply_are_found() -> None:
    trace = Trace(SAMPLE)
    link = trace.placing(Path("/m/new/a,S=3"))
    assert placed_paths(link) == ("/m/tmp/a", "/m/new/a,S=3")
    assert trace.reply(b"queued as X").start == 9


def test_a_reply_during_the_directory_fsync_is_too_early() -> None:
    """The `250-early` line was written while `new/` was being fsynced: were it the
    reply, the order would be wrong."""
    trace = Trace(SAMPLE)
    path = Path("/m/new/a,S=3")
    trace.assert_stored(path, trace.reply(b"queued as X"))
    with pytest.raises(AssertionError, match="no fsync of /m/new"):
        trace.assert_stored(path, trace.reply(b"250-early"))


def test_a_path_with_an_escaped_angle_bracket() -> None:
    [call] = parse_trace("7  fsync(3</tmp/a b,c\\76d.txt>) = 0\n")
    assert call.path(0) == "/tmp/a b,c>d.txt"


@given(st.binary(max_size=200))
def test_strings_round_trip(data: bytes) -> None:
    assert decode_string(encode_string(data)) == data


@given(st.binary(max_size=120), st.binary(max_size=60))
def test_a_write_round_trips_through_a_line(data: bytes, path: bytes) -> None:
    """Any bytes written, to any path: the call is read back with both."""
    assume(not path.startswith((b"TCP", b"UDP", b"UNIX")))
    annotated = encode_string(path).replace(">", "\\76")
    line = f'42  write(5<{annotated}>, "{encode_string(data)}", {len(data)}) = {len(data)}\n'
    [call] = parse_trace(line)
    assert call.data == data
    assert call.path(0) == os.fsdecode(path)


@given(st.text(max_size=300))
def test_hostile_text_raises_trace_error_or_parses(text: str) -> None:
    with contextlib.suppress(TraceError):
        parse_trace(text)


@given(st.lists(st.sampled_from(SAMPLE.splitlines()), max_size=30).map("\n".join))
def test_shuffled_lines_raise_trace_error_or_parse(text: str) -> None:
    """Resumed calls without their start, starts never resumed: no crash."""
    with contextlib.suppress(TraceError):
        Trace(text)
