"""Hostile input for the Maildir reading side: the uidlist and keywords parsers
take any bytes and either parse them or raise their own error, what they write
reads back the same, and no file name in cur/ or new/ makes a sync fail."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailroom.store.folder_state import FolderState
from mailroom.store.keywords import (
    MAX_KEYWORDS,
    Keywords,
    KeywordsError,
    format_keywords,
    is_keyword,
    parse_keywords,
)
from mailroom.store.uidlist import (
    UidList,
    UidListError,
    extend_uidlist,
    format_uidlist,
    parse_uidlist,
)

# Text that looks like the files, so the parsers get past their first line.
uidlist_like = st.lists(
    st.one_of(
        st.sampled_from(["3 V1 N1", "3 V5 N9 Gab", "1 7 3", "2 7 3", "1 :a", "2 W5 :b c", "3 0 x"]),
        st.text(alphabet="0123456789 :VNGW\r\t.,=abc\xff", max_size=30),
    ),
    max_size=8,
).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogateescape"))
keywords_like = st.lists(
    st.one_of(
        st.sampled_from(["0 Junk", "1 $Label1", "25 z", "26 y", "0 Junk"]),
        st.text(alphabet="0123456789 $Junk\\(\t\xe9", max_size=12),
    ),
    max_size=8,
).map(lambda lines: "\n".join(lines).encode("utf-8"))
file_name_bytes = st.binary(min_size=1, max_size=120).filter(
    lambda name: b"/" not in name and b"\0" not in name and name not in (b".", b"..")
)


@given(st.one_of(st.binary(max_size=300), uidlist_like))
def test_any_bytes_parse_as_a_uidlist_or_raise_uidlisterror(data: bytes) -> None:
    try:
        uidlist = parse_uidlist(data)
    except UidListError:
        return
    assert parse_uidlist(format_uidlist(uidlist)) == uidlist


@given(st.one_of(st.binary(max_size=300), uidlist_like), st.integers(0, 300))
def test_appended_records_read_alone_give_what_the_whole_file_gives(data: bytes, at: int) -> None:
    # FolderUids parses only what was appended to a file it has read already: that
    # must give the list (or the complaint) a read of the whole file gives.
    line_ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    assume(line_ends)
    cut = line_ends[at % len(line_ends)]
    try:
        before = parse_uidlist(data[:cut])
    except UidListError:
        return
    try:
        whole = parse_uidlist(data)
    except UidListError as error:
        with pytest.raises(UidListError) as raised:
            extend_uidlist(before, data[cut:])
        assert str(raised.value) == str(error)
        return
    assert extend_uidlist(before, data[cut:]) == whole
    assert extend_uidlist(before, data[cut:]).version == whole.version


@given(
    st.integers(1, 2**32 - 1),
    st.lists(file_name_bytes.filter(lambda b: b"\n" not in b), max_size=10),
    st.lists(st.integers(0, 9), max_size=5),
)
def test_a_uidlist_reads_back_exactly_what_was_written(
    uidvalidity: int, names: list[bytes], expunged: list[int]
) -> None:
    uidlist = UidList.create(uidvalidity)
    uidlist.assign(os.fsdecode(name) for name in names)
    uidlist.retain({r.name for i, r in enumerate(uidlist.records) if i not in expunged})

    assert parse_uidlist(format_uidlist(uidlist)) == uidlist


@given(st.one_of(st.binary(max_size=200), keywords_like))
def test_any_bytes_parse_as_keywords_or_raise_keywordserror(data: bytes) -> None:
    try:
        keywords = parse_keywords(data)
    except KeywordsError:
        return
    assert parse_keywords(format_keywords(keywords)) == keywords


@given(
    st.sets(
        st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10
        ).filter(is_keyword),
        max_size=MAX_KEYWORDS,
    )
)
def test_added_keywords_read_back_with_their_letters(names: set[str]) -> None:
    keywords = Keywords().with_keywords(names)
    reread = parse_keywords(format_keywords(keywords))

    assert reread == keywords
    assert {reread.keyword_for(reread.letter_for(name) or "") for name in names} == names


@settings(
    max_examples=60,
    deadline=None,  # files written and fsynced: a loaded machine takes longer than 200 ms
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(file_name_bytes, min_size=1, max_size=6), st.booleans())
def test_no_file_name_makes_a_sync_fail(names: list[bytes], in_new: bool) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        for sub in ("cur", "new", "tmp"):
            (root / sub).mkdir()
        for name in names:
            try:
                (root / ("new" if in_new else "cur") / os.fsdecode(name)).write_bytes(b"x")
            except OSError:
                continue  # a name the file system refuses (too long, …)
        state = FolderState(root, lock_wait=5.0)
        state.open()
        try:
            messages = state.snapshot.messages

            assert len({m.uid for m in messages}) == len(messages)
            state.sync(force=True)
            assert [m.uid for m in state.snapshot.messages] == [m.uid for m in messages]
            state.store_flags([m.uid for m in messages], "set", ["\\Seen"], None)
        finally:
            state.close()
    finally:
        shutil.rmtree(root)
