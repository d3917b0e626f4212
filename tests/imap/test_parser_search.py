"""SEARCH, SORT and THREAD as clients write them: every search key into its tree, the
RETURN options and charsets, and refusals."""

from __future__ import annotations

import datetime

import pytest

from mailroom.imap import search_keys as sk
from mailroom.imap.commands import (
    Search,
    Sort,
    SortCriterion,
    SortKey,
    Thread,
)
from mailroom.imap.parser import ParserLimits
from mailroom.imap.sequence import SAVED, parse_sequence_set
from tests.support.imap_commands import args, command, refusal

# --- SEARCH, SORT, THREAD -------------------------------------------------------------


def search(text: str) -> Search:
    searched = args(f"a SEARCH {text}")
    assert isinstance(searched, Search)
    return searched


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ALL", sk.All()),
        ("answered", sk.Flag("\\Answered")),
        (
            "DELETED DRAFT FLAGGED SEEN RECENT",
            sk.And(
                (
                    sk.Flag("\\Deleted"),
                    sk.Flag("\\Draft"),
                    sk.Flag("\\Flagged"),
                    sk.Flag("\\Seen"),
                    sk.Flag("\\Recent"),
                )
            ),
        ),
        (
            "UNANSWERED UNDELETED",
            sk.And((sk.Flag("\\Answered", False), sk.Flag("\\Deleted", False))),
        ),
        (
            "UNDRAFT UNFLAGGED UNSEEN",
            sk.And(
                (sk.Flag("\\Draft", False), sk.Flag("\\Flagged", False), sk.Flag("\\Seen", False))
            ),
        ),
        ("NEW", sk.And((sk.Flag("\\Recent"), sk.Flag("\\Seen", False)))),
        ("OLD", sk.Flag("\\Recent", False)),
        ("KEYWORD $Junk", sk.Flag("$Junk")),
        ("UNKEYWORD $Junk", sk.Flag("$Junk", False)),
        ('FROM "Bob Smith"', sk.Header("FROM", "Bob Smith")),
        (
            "to bob cc carol bcc dave subject hi",
            sk.And(
                (
                    sk.Header("TO", "bob"),
                    sk.Header("CC", "carol"),
                    sk.Header("BCC", "dave"),
                    sk.Header("SUBJECT", "hi"),
                )
            ),
        ),
        ('HEADER X-Spam ""', sk.Header("X-Spam", "")),
        ("BODY lunch", sk.Body("lunch")),
        ("TEXT {6}\r\nlünch", sk.Text("lünch")),
        (
            "BEFORE 1-Feb-1994",
            sk.Date(sk.DateField.INTERNAL, sk.DateComparison.BEFORE, datetime.date(1994, 2, 1)),
        ),
        (
            'ON "01-feb-1994"',
            sk.Date(sk.DateField.INTERNAL, sk.DateComparison.ON, datetime.date(1994, 2, 1)),
        ),
        (
            "SINCE 29-Feb-2024",
            sk.Date(sk.DateField.INTERNAL, sk.DateComparison.SINCE, datetime.date(2024, 2, 29)),
        ),
        (
            "SENTBEFORE 1-Jan-2000",
            sk.Date(sk.DateField.SENT, sk.DateComparison.BEFORE, datetime.date(2000, 1, 1)),
        ),
        (
            "SENTON 1-Jan-2000",
            sk.Date(sk.DateField.SENT, sk.DateComparison.ON, datetime.date(2000, 1, 1)),
        ),
        (
            "SENTSINCE 1-Jan-2000",
            sk.Date(sk.DateField.SENT, sk.DateComparison.SINCE, datetime.date(2000, 1, 1)),
        ),
        (
            "LARGER 1024 SMALLER 4294967295",
            sk.And((sk.Size(True, 1024), sk.Size(False, 2**32 - 1))),
        ),
        ("OLDER 3600 YOUNGER 60", sk.And((sk.Within(True, 3600), sk.Within(False, 60)))),
        ("UID 1:5,*", sk.Uid(parse_sequence_set("1:5,*"))),
        ("2:4,*", sk.Sequence(parse_sequence_set("2:4,*"))),
        ("$", sk.Sequence(SAVED)),
        ("UID $", sk.Uid(SAVED)),
        ("MODSEQ 620162338", sk.ModSeq(620162338)),
        ('MODSEQ "/flags/\\\\draft" all 620162338', sk.ModSeq(620162338, "/flags/\\draft", "ALL")),
        ("NOT SEEN", sk.Not(sk.Flag("\\Seen"))),
        (
            "OR SEEN (FLAGGED DELETED)",
            sk.Or(sk.Flag("\\Seen"), sk.And((sk.Flag("\\Flagged"), sk.Flag("\\Deleted")))),
        ),
        (
            "OR OR FROM a TO b CC c",
            sk.Or(sk.Or(sk.Header("FROM", "a"), sk.Header("TO", "b")), sk.Header("CC", "c")),
        ),
        ("(((SEEN)))", sk.Flag("\\Seen")),
    ],
)
def test_search_keys(text: str, key: sk.SearchKey) -> None:
    assert search(text).key == key


def test_search_return_options_and_charset() -> None:
    assert search("ALL") == Search(sk.All(), None, None)
    assert search("RETURN () ALL") == Search(sk.All(), None, frozenset())
    assert search("return (min MAX ALL count SAVE) CHARSET utf-8 ALL") == Search(
        sk.All(), "UTF-8", frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})
    )
    # A charset we lack is kept for the session to answer NO [BADCHARSET].
    latin = search(b'CHARSET ISO-8859-1 SUBJECT "caf\xe9"'.decode("latin-1"))
    assert latin.charset == "ISO-8859-1"


def test_search_string_in_an_unsupported_charset_still_parses() -> None:
    searched = command(b'a SEARCH CHARSET "ISO-8859-1" SUBJECT {4}\r\ncaf\xe9\r\n').args
    assert isinstance(searched, Search)
    assert searched.charset == "ISO-8859-1"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Missing argument"),
        ("FOO", "Unknown search key"),
        ("FROM", "Missing argument"),
        ("OR SEEN", "Missing argument"),
        ("NOT", "Missing argument"),
        ("()", "Empty search key list"),
        ("BEFORE 30-Feb-2024", "Invalid date"),
        ("BEFORE 1-Foo-2024", "Invalid date"),
        ("BEFORE 2024-01-01", "Invalid date"),
        ("LARGER -1", "Invalid number"),
        ("LARGER 4294967296", "Number too large"),
        ("SMALLER 99999999999999999999999", "Invalid number"),
        ("UID 0", "Invalid sequence set"),
        ("1:0", "Invalid sequence set"),
        ("KEYWORD \\Seen", "Invalid keyword"),
        ("MODSEQ x", "Missing argument"),
        ("MODSEQ /flags/x bogus 1", "Invalid MODSEQ entry type"),
        ("RETURN (FOO) ALL", "Unknown RETURN option"),
        ("RETURN ALL", "Expected a parenthesized list"),
        ("CHARSET", "Missing argument"),
        ("NOT " * 70 + "SEEN", "Search keys nested too deeply"),
        ("OR " * 70 + "SEEN " * 71, "Search keys nested too deeply"),
    ],
)
def test_bad_search(text: str, error: str) -> None:
    assert refusal(f"a SEARCH {text}").text == error


def test_too_many_search_keys() -> None:
    limits = ParserLimits(max_items=10)
    assert refusal("a SEARCH " + "SEEN " * 11, limits).text == "Too many search keys"
    assert command("a SEARCH " + "SEEN " * 10, limits).name == "SEARCH"


def test_sort_and_esort() -> None:
    assert args("a SORT (REVERSE ARRIVAL subject displayfrom) UTF-8 UNSEEN") == Sort(
        (
            SortCriterion(SortKey.ARRIVAL, True),
            SortCriterion(SortKey.SUBJECT),
            SortCriterion(SortKey.DISPLAYFROM),
        ),
        "UTF-8",
        sk.Flag("\\Seen", False),
    )
    assert args("a SORT RETURN (MIN COUNT) (DATE) US-ASCII ALL") == Sort(
        (SortCriterion(SortKey.DATE),), "US-ASCII", sk.All(), frozenset({"MIN", "COUNT"})
    )
    assert refusal("a SORT (DATE) ALL").text == "Missing argument"
    assert refusal("a SORT (BOGUS) UTF-8 ALL").text == "Unknown sort key"
    assert refusal("a SORT () UTF-8 ALL").text == "Missing sort criteria"


def test_thread() -> None:
    assert args("a THREAD references UTF-8 SINCE 5-Mar-2000") == Thread(
        "REFERENCES",
        "UTF-8",
        sk.Date(sk.DateField.INTERNAL, sk.DateComparison.SINCE, datetime.date(2000, 3, 5)),
    )
    assert args("a UID THREAD ORDEREDSUBJECT US-ASCII ALL") == Thread(
        "ORDEREDSUBJECT", "US-ASCII", sk.All()
    )
