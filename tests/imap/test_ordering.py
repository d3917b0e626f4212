"""SORT: RFC 5256 base subjects, keys, REVERSE and the sequence-number tie-break."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.commands import SortCriterion, SortKey
from mailroom.imap.ordering import (
    SortHeaders,
    SortItem,
    base_subject_of,
    collation_key,
    extract_base_subject,
    sort_key,
    sort_messages,
)
from mailroom.message import parse_message


def base_subject(subject: str) -> str:
    return extract_base_subject(subject).text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("test", "test"),
        ("Re: test", "test"),
        ("RE: Re:re:  test", "test"),
        ("Fwd: Fw: FWD: test", "test"),
        ("re [list]: test", "test"),
        ("[list] Re: test", "test"),
        ("[mailing-list] Re: [another] test", "test"),
        ("[blob]", "[blob]"),
        ("[blob] ", "[blob]"),
        ("test (fwd)", "test"),
        ("test (FWD) (fwd)  ", "test"),
        ("[Fwd: Re: test]", "test"),
        ("RE: [fwd: [FWD: test (fwd)]]", "test"),
        ("Re:", ""),
        ("", ""),
        ("a \t  b", "a b"),
        ("Re test", "Re test"),
        ("Rep: test", "Rep: test"),
    ],
)
def test_base_subject_follows_rfc5256(subject: str, expected: str) -> None:
    assert base_subject(subject) == expected


def test_encoded_words_are_decoded_first() -> None:
    assert base_subject_of(b"=?utf-8?q?Re=3A_caf=C3=A9?=").text == "caf\u00e9"


def test_reply_or_forward_is_noticed() -> None:
    assert extract_base_subject("Re: x").is_reply_or_forward
    assert extract_base_subject("x (fwd)").is_reply_or_forward
    assert extract_base_subject("[fwd: x]").is_reply_or_forward
    assert not extract_base_subject("[list] x").is_reply_or_forward


BASE = datetime(2026, 1, 1, tzinfo=UTC)


def item(sequence: int, header: str, *, size: int = 100, arrival: int = 0) -> SortItem:
    data = header.replace("\n", "\r\n").encode() + b"\r\n\r\n"
    return SortItem(
        id=sequence * 10,
        sequence=sequence,
        arrival=BASE + timedelta(minutes=arrival),
        size=size,
        headers=SortHeaders.from_part(parse_message(data)),
    )


ITEMS = [
    item(1, "From: Zed <alice@x>\nSubject: Re: beta\nDate: Fri, 2 Jan 2026 10:00:00 +0000", size=5),
    item(2, "From: bob@x\nTo: Carol <carol@y>\nSubject: alpha", size=500, arrival=5),
    item(3, "From: Amy <zoe@x>\nSubject: [list] Beta\nDate: Thu, 1 Jan 2026 09:00:00 -0100"),
    item(4, "Subject: alpha\nCc: =?utf-8?q?=C3=89ve?= <eve@z>\nDate: junk", arrival=-10),
]


def ids(*criteria: SortCriterion) -> list[int]:
    return sort_messages(ITEMS, criteria)


def test_sort_by_subject_uses_base_subject_then_sequence() -> None:
    assert ids(SortCriterion(SortKey.SUBJECT)) == [20, 40, 10, 30]


def test_sort_by_from_uses_the_mailbox_part() -> None:
    # "" (no From) < alice < bob < zoe
    assert ids(SortCriterion(SortKey.FROM)) == [40, 10, 20, 30]


def test_sort_by_displayfrom_uses_the_display_name() -> None:
    # "" < Amy < bob@x < Zed (case-insensitive)
    assert ids(SortCriterion(SortKey.DISPLAYFROM)) == [40, 30, 20, 10]


def test_sort_by_date_falls_back_to_the_arrival_time() -> None:
    # 3: Jan 1 10:00 UTC; 1: Jan 2; 2 (no Date) and 4 (bad Date) use their arrival:
    # Jan 1 00:05 and Dec 31.
    assert ids(SortCriterion(SortKey.DATE)) == [40, 20, 30, 10]


def test_reverse_reverses_one_key_but_not_the_tie_break() -> None:
    assert ids(SortCriterion(SortKey.SUBJECT, reverse=True)) == [10, 30, 20, 40]
    assert ids(SortCriterion(SortKey.SIZE, reverse=True), SortCriterion(SortKey.ARRIVAL)) == [
        20,
        40,
        30,
        10,
    ]


def test_cc_and_to_and_arrival_keys() -> None:
    assert sort_key(SortKey.CC, ITEMS[3]) == "EVE"
    assert sort_key(SortKey.TO, ITEMS[1]) == "CAROL"
    assert sort_key(SortKey.DISPLAYTO, ITEMS[1]) == "CAROL"
    assert ids(SortCriterion(SortKey.ARRIVAL)) == [40, 10, 30, 20]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_base_subject_is_idempotent_and_never_raises(subject: str) -> None:
    once = base_subject(subject)
    assert base_subject(once) == once or once.startswith("[")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_sorting_junk_headers_never_raises(headers: list[bytes]) -> None:
    items = [
        SortItem(i, i, BASE, i, SortHeaders.from_part(parse_message(b"Subject: " + h)))
        for i, h in enumerate(headers)
    ]
    for key in SortKey:
        assert sorted(sort_messages(items, [SortCriterion(key)])) == list(range(len(headers)))


def test_hostile_subjects_are_reduced_right() -> None:
    # Sizes where quadratic work would hang (and pytest-timeout fail) the test; what they
    # cost is measured by bench/parser_costs.py, not asserted here.
    assert base_subject("[x]" * 100_000) == "[x]"
    assert base_subject("Re: [a] " * 50_000 + "x") == "x"
    assert base_subject("x" + " (fwd)" * 50_000) == "x"
    assert base_subject("[fwd: " * 20_000 + "x" + "]" * 20_000) == "x"


def _headers(field: str, value: str) -> SortHeaders:
    return SortHeaders.from_part(parse_message(f"{field}: {value}\r\n\r\nx\r\n".encode()))


def test_a_group_sorts_on_its_decoded_name() -> None:
    headers = _headers("Cc", "=?UTF-8?Q?=C3=89quipe?=: bob@example.test;")
    assert headers.cc_mailbox == collation_key("Équipe")
    headers = _headers("To", "undisclosed-recipients:;")
    assert headers.to_mailbox == headers.display_to == "UNDISCLOSED-RECIPIENTS"


def test_a_comment_names_a_mailbox_for_the_display_keys_only() -> None:
    headers = _headers("From", "zoe (Nadia) @ example.test")
    assert (headers.from_mailbox, headers.display_from) == ("ZOE", "NADIA")
