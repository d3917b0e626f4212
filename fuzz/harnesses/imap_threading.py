"""THREAD and SORT over messages strangers wrote (`mailroom.imap.thread_algorithms`,
`mailroom.imap.ordering`, RFC 5256): Message-ID, References and In-Reply-To chains
(loops, self-references, duplicates), subjects with `Re:`/`Fwd:`/`[list]` layers,
dates in any shape.

The input is a mailbox: messages separated by NUL octets (at most 30). Contract:
REFERENCES and ORDEREDSUBJECT threading list every message exactly once, whatever the
chains say (RFC 5256 §4); the THREAD response is balanced ASCII; SORT by every key, each
way round, lists every message exactly once. A crash: any exception, a message lost or
listed twice, a hang (a reference loop followed forever).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mailroom.imap.commands import SortCriterion, SortKey
from mailroom.imap.ordering import SortHeaders, SortItem, sort_messages
from mailroom.imap.thread_algorithms import (
    ThreadInput,
    format_threads,
    thread_orderedsubject,
    thread_references,
)
from mailroom.message import parse_message

MAX_MESSAGES = 30
ARRIVAL = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
_NUMBER = re.compile(rb"[0-9]+")


def _listed_once(response: bytes, count: int) -> None:
    assert response.isascii(), response
    assert response.count(b"(") == response.count(b")"), response
    numbers = sorted(int(number) for number in _NUMBER.findall(response))
    assert numbers == list(range(1, count + 1)), (numbers, response)


def one_input(data: bytes) -> None:
    raws = data.split(b"\x00")[:MAX_MESSAGES]
    parts = [parse_message(raw) for raw in raws]
    inputs = [
        ThreadInput.from_part(number, number, part, ARRIVAL)
        for number, part in enumerate(parts, start=1)
    ]
    _listed_once(format_threads(thread_references(inputs)), len(inputs))
    _listed_once(format_threads(thread_orderedsubject(inputs)), len(inputs))
    items = [
        SortItem(number, number, ARRIVAL, len(raw), SortHeaders.from_part(part))
        for number, (raw, part) in enumerate(zip(raws, parts, strict=True), start=1)
    ]
    for key in SortKey:
        for reverse in (False, True):
            order = sort_messages(items, [SortCriterion(key, reverse)])
            assert sorted(order) == list(range(1, len(items) + 1)), (key, order)
