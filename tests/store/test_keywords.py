"""`dovecot-keywords`: flag letters a..z of Maildir file names stand for the
folder's keywords by index; the fixture was written by Dovecot 2.3.19.1."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mailroom.store.keywords import (
    MAX_KEYWORDS,
    Keywords,
    KeywordsError,
    TooManyKeywords,
    add_keywords,
    format_keywords,
    parse_keywords,
    read_keywords,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dovecot-2.3"


def test_dovecots_keywords_file_maps_letters_to_keywords() -> None:
    keywords = read_keywords(FIXTURES / "Maildir")

    assert keywords.keyword_for("a") == "$Forwarded"
    assert keywords.keyword_for("d") == "$Label1"
    assert keywords.letter_for("NonJunk") == "c"
    assert keywords.keywords_in("FRbc") == {"Junk", "NonJunk"}


def test_dovecots_keywords_file_is_written_back_byte_for_byte() -> None:
    data = (FIXTURES / "Maildir" / "dovecot-keywords").read_bytes()

    assert format_keywords(parse_keywords(data)) == data


def test_letters_without_a_keyword_and_upper_case_letters_are_not_keywords() -> None:
    keywords = parse_keywords(b"0 Work\n")

    assert keywords.keywords_in("SPabz") == {"Work"}
    assert keywords.letter_for("work") is None  # keywords compare case-sensitively


def test_a_folder_without_the_file_has_no_keywords(tmp_path: Path) -> None:
    assert read_keywords(tmp_path) == Keywords()


def test_adding_a_keyword_takes_the_lowest_free_index_and_rewrites_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "dovecot-keywords").write_bytes(b"0 Junk\n2 $Label1\n")

    keywords = add_keywords(tmp_path, {"Work"})

    assert keywords.letter_for("Work") == "b"
    assert (tmp_path / "dovecot-keywords").read_bytes() == b"0 Junk\n1 Work\n2 $Label1\n"
    assert not (tmp_path / "dovecot-keywords.lock").exists()


def test_adding_a_known_keyword_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "dovecot-keywords").write_bytes(b"0 Junk\n")

    assert add_keywords(tmp_path, {"Junk"}).letter_for("Junk") == "a"


def test_the_27th_keyword_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    add_keywords(tmp_path, {f"k{index}" for index in range(MAX_KEYWORDS)})

    with pytest.raises(TooManyKeywords, match="at most 26 keywords"):
        add_keywords(tmp_path, {"one-too-many"})
    assert len(read_keywords(tmp_path).by_index) == 26


def test_a_keyword_must_be_an_imap_atom(tmp_path: Path) -> None:
    with pytest.raises(KeywordsError, match="not a valid IMAP keyword"):
        add_keywords(tmp_path, {"two words"})
    with pytest.raises(KeywordsError, match="not a valid IMAP keyword"):
        add_keywords(tmp_path, {"\\Seen"})


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"0\n", "expected"),
        (b"x Junk\n", "expected"),
        (b"26 Junk\n", "past z"),
        (b"0 Junk\n0 Work\n", "appears twice"),
        (b"0 Junk\n1 Junk\n", "appears twice"),
        (b"0 a b\n", "not a valid"),
        (b"0 \xc3\xa9\n", "non-ASCII"),
    ],
)
def test_a_broken_keywords_file_says_what_is_wrong(data: bytes, complaint: str) -> None:
    with pytest.raises(KeywordsError, match=complaint):
        parse_keywords(data)


def test_two_threads_adding_keywords_at_once_lose_none(tmp_path: Path) -> None:
    barrier = threading.Barrier(2)

    def add(keyword: str) -> None:
        barrier.wait()
        add_keywords(tmp_path, {keyword})

    threads = [threading.Thread(target=add, args=(k,)) for k in ("Alpha", "Beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    keywords = read_keywords(tmp_path)
    assert {name for _, name in keywords.by_index} == {"Alpha", "Beta"}
