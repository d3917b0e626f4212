"""The Maildir file-name grammar (filename.py): what it writes reads back the same,
and no name, however hostile, makes reading it raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.store.filename import (
    MaildirNameError,
    MessageFileName,
    base_name,
    base_of,
    file_name,
    format_file_name,
    info_of,
    is_message_file,
    new_base_names,
    parse_file_name,
    stored_size_in,
    unique_name,
    virtual_size_in,
)

sizes = st.integers(0, 10**19 - 1)
uniques = st.text(min_size=1, max_size=40).filter(
    lambda text: not text.startswith(".") and not any(c in text for c in ":/\n\x00")
)
infos = st.none() | st.text(max_size=30).filter(lambda t: not any(c in t for c in "/\n\x00"))
hostile = st.text(
    alphabet=st.sampled_from(list(",:SW=2/.0123456789abc\n\x00\xe9\ud800")) | st.characters(),
    max_size=60,
)


def test_dovecots_own_name_is_read_into_its_parts() -> None:
    name = parse_file_name("1795616427.M454329P13700.vm,S=43,W=47:2,FRbc")

    assert name == MessageFileName("1795616427.M454329P13700.vm", 43, 47, "FRbc")


def test_a_name_in_new_has_no_info_and_one_in_cur_may_have_an_empty_one() -> None:
    assert parse_file_name("1.M2P3Q4.h,S=1,W=2") == MessageFileName("1.M2P3Q4.h", 1, 2, None)
    assert parse_file_name("1.M2P3Q4.h,S=1,W=2:2,") == MessageFileName("1.M2P3Q4.h", 1, 2, "")


def test_names_of_other_programs_are_not_ours_but_still_read() -> None:
    assert parse_file_name("1700000000.ok:2,S") is None
    assert base_of("1700000000.ok:2,S") == "1700000000.ok"
    assert info_of("1700000000.ok:2,S") == "S"
    assert stored_size_in("1700000000.ok:2,S") is None
    assert stored_size_in("3.M1P1Q3.h,S=10") == 10
    assert virtual_size_in("3.M1P1Q3.h,S=10") is None


def test_a_host_name_with_a_slash_or_colon_cannot_break_the_name() -> None:
    unique = unique_name("mx/1:25")

    assert unique.endswith(".mx\\0571\\07225")
    assert parse_file_name(base_name(unique, 5, 6)) == MessageFileName(unique, 5, 6, None)


@given(uniques, sizes, sizes, infos)
def test_a_written_name_reads_back_the_same(
    unique: str, stored: int, virtual: int, info: str | None
) -> None:
    name = MessageFileName(unique, stored, virtual, info)

    text = format_file_name(name)

    assert parse_file_name(text) == name
    assert base_of(text) == name.base
    assert stored_size_in(text) == stored and virtual_size_in(text) == virtual
    assert info_of(text) == (info or "")
    assert is_message_file(text)


@given(hostile)
def test_any_text_reads_as_a_name_or_none_never_an_exception(text: str) -> None:
    parsed = parse_file_name(text)

    if parsed is not None:
        assert format_file_name(parsed) == text
    base_of(text)
    info_of(text)
    stored_size_in(text)
    virtual_size_in(text)
    is_message_file(text)


@given(hostile, st.integers(-5, 10**20), st.integers(-5, 10**20), hostile | st.none())
def test_a_name_that_could_not_be_read_back_is_refused_when_written(
    unique: str, stored: int, virtual: int, info: str | None
) -> None:
    try:
        text = file_name(base_name(unique, stored, virtual), info)
    except MaildirNameError:
        return
    assert parse_file_name(text) == MessageFileName(unique, stored, virtual, info)


@given(st.text(max_size=30), st.lists(st.tuples(sizes, sizes), max_size=5))
def test_fresh_base_names_are_distinct_and_carry_their_sizes(
    hostname: str, wanted: list[tuple[int, int]]
) -> None:
    names = new_base_names(hostname.replace("\n", "").replace("\x00", ""), wanted)

    assert len(set(names)) == len(names)
    for name, (stored, virtual) in zip(names, wanted, strict=True):
        parsed = parse_file_name(name)
        assert parsed is not None
        assert (parsed.stored_size, parsed.virtual_size) == (stored, virtual)


def test_a_size_with_a_leading_zero_is_not_how_we_write_one() -> None:
    assert parse_file_name("1.M2P3Q4.h,S=01,W=2") is None
    assert stored_size_in("1.M2P3Q4.h,S=01,W=2") == 1
