"""THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256), and the response format."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.thread_algorithms import (
    ThreadInput,
    ThreadNode,
    format_threads,
    message_ids,
    thread_orderedsubject,
    thread_references,
)
from mailroom.message import parse_message

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def message(
    number: int, subject: str, minute: int, *, references: str = "", own_id: bool = True
) -> ThreadInput:
    lines = [
        f"Subject: {subject}",
        f"Date: {(BASE + timedelta(minutes=minute)):%a, %d %b %Y %H:%M:%S +0000}",
    ]
    if own_id:
        lines.append(f"Message-ID: <{number}@example.org>")
    if references:
        lines.append(f"References: {references}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return ThreadInput.from_part(number, number, parse_message(data), BASE)


def refs(*numbers: int) -> str:
    return " ".join(f"<{n}@example.org>" for n in numbers)


def test_format_of_the_rfc5256_example() -> None:
    threads = [
        ThreadNode(2),
        ThreadNode(
            3,
            [
                ThreadNode(
                    6,
                    [
                        ThreadNode(4, [ThreadNode(23)]),
                        ThreadNode(44, [ThreadNode(7, [ThreadNode(96)])]),
                    ],
                )
            ],
        ),
    ]
    assert format_threads(threads) == b"(2)(3 6 (4 23)(44 7 96))"


def test_references_builds_the_rfc5256_example() -> None:
    messages = [
        message(2, "other", 0),
        message(3, "topic", 1),
        message(6, "Re: topic", 2, references=refs(3)),
        message(4, "Re: topic", 3, references=refs(3, 6)),
        message(23, "Re: topic", 4, references=refs(3, 6, 4)),
        message(44, "Re: topic", 5, references=refs(3, 6)),
        message(7, "Re: topic", 6, references=refs(3, 6, 44)),
        message(96, "Re: topic", 7, references=refs(3, 6, 44, 7)),
    ]
    assert format_threads(thread_references(messages)) == b"(2)(3 6 (4 23)(44 7 96))"


def test_in_reply_to_is_used_without_references() -> None:
    data = b"Subject: Re: x\r\nIn-Reply-To: <1@example.org> <junk@x>\r\n\r\n"
    reply = ThreadInput.from_part(2, 2, parse_message(data), BASE + timedelta(minutes=1))
    assert format_threads(thread_references([message(1, "x", 0), reply])) == b"(1 2)"


def test_siblings_under_a_missing_parent_keep_a_dummy_at_the_top() -> None:
    messages = [
        message(1, "Re: lost", 0, references="<gone@example.org>"),
        message(2, "Re: lost", 1, references="<gone@example.org>"),
    ]
    assert format_threads(thread_references(messages)) == b"((1)(2))"


def test_a_single_child_of_a_missing_parent_is_promoted() -> None:
    messages = [message(1, "Re: lost", 0, references="<gone@example.org> <also-gone@x>")]
    assert format_threads(thread_references(messages)) == b"(1)"


def test_dummies_below_the_top_are_spliced_out() -> None:
    messages = [
        message(1, "root", 0),
        message(2, "Re: root", 1, references=refs(1) + " <gone@x>"),
        message(3, "Re: root", 2, references=refs(1) + " <gone@x>"),
    ]
    assert format_threads(thread_references(messages)) == b"(1 (2)(3))"


def test_subject_grouping_puts_a_reply_under_the_original() -> None:
    messages = [message(1, "Re: hello", 0, own_id=False), message(2, "hello", 1, own_id=False)]
    assert format_threads(thread_references(messages)) == b"(2 1)"


def test_subject_grouping_of_two_originals_makes_a_dummy() -> None:
    messages = [message(1, "hello", 0, own_id=False), message(2, "hello", 1, own_id=False)]
    assert format_threads(thread_references(messages)) == b"((1)(2))"


def test_empty_subjects_are_not_grouped() -> None:
    messages = [message(1, "", 0, own_id=False), message(2, "Re:", 1, own_id=False)]
    assert format_threads(thread_references(messages)) == b"(1)(2)"


def test_loops_and_duplicates_do_not_hang() -> None:
    messages = [
        message(1, "a", 0, references=refs(2)),
        message(2, "b", 1, references=refs(1)),
        message(3, "c", 2, references=refs(3)),
        message(3, "d", 3),  # a duplicate Message-ID is treated as none
    ]
    result = format_threads(thread_references(messages))
    assert sorted(re.findall(rb"\d+", result)) == [b"1", b"2", b"3", b"3"]


def test_threads_and_siblings_are_ordered_by_sent_date() -> None:
    messages = [
        message(1, "late", 10),
        message(2, "early", 0),
        message(3, "Re: late", 30, references=refs(1)),
        message(4, "Re: late", 20, references=refs(1)),
    ]
    assert format_threads(thread_references(messages)) == b"(2)(1 (4)(3))"


def test_orderedsubject() -> None:
    messages = [
        message(1, "b", 1),
        message(2, "a", 2),
        message(3, "Re: b", 3),
        message(4, "a", 4),
        message(5, "c", 0),
        message(6, "RE: B", 5),
    ]
    assert format_threads(thread_orderedsubject(messages)) == b"(5)(1 (3)(6))(2 4)"


def test_message_ids_need_an_at_sign() -> None:
    assert message_ids(b"<a@b> <nope> < c @ d >") == ["a@b", "c@d"]


def test_a_very_long_reply_chain_does_not_exhaust_recursion() -> None:
    chain = [message(1, "start", 0)]
    for n in range(2, 3001):
        chain.append(message(n, "Re: start", n, references=refs(n - 1)))
    result = format_threads(thread_references(chain))
    assert result.startswith(b"(1 2 3 ") and result.endswith(b" 3000)")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 8),
            st.lists(st.integers(0, 8), max_size=4),
            st.sampled_from(["a", "Re: a", "b", "", "[x] Fwd: a"]),
            st.integers(0, 5),
        ),
        max_size=25,
    )
)
def test_every_message_appears_once_whatever_the_references(
    spec: list[tuple[int, list[int], str, int]],
) -> None:
    inputs = [
        ThreadInput(
            id=index + 1,
            sequence=index + 1,
            date=BASE + timedelta(minutes=minute),
            message_id=f"{own}@x",
            references=tuple(f"{r}@x" for r in references),
            subject=subject.upper(),
            is_reply_or_forward=subject.startswith("Re"),
        )
        for index, (own, references, subject, minute) in enumerate(spec)
    ]
    for algorithm in (thread_references, thread_orderedsubject):
        text = format_threads(algorithm(inputs))
        numbers = sorted(int(n) for n in re.findall(rb"\d+", text))
        assert numbers == list(range(1, len(spec) + 1))
        assert text.count(b"(") == text.count(b")")
