"""A session's view of its mailbox: which messages a sequence set names, by sequence
number and by UID (RFC 9051 §6.4.9), whatever ranges the client writes."""

from __future__ import annotations

from array import array
from types import SimpleNamespace
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from mailroom.imap.selected import SelectedView
from mailroom.imap.sequence import parse_sequence_set
from mailroom.store import Mailbox

NUMBER = st.one_of(st.integers(1, 40), st.just("*"))
RANGES = st.lists(st.tuples(NUMBER, NUMBER | st.none()), min_size=1, max_size=4)


def view_of(uids: list[int]) -> SelectedView:
    # Only the snapshot of the shared mailbox state is read here.
    snapshot = SimpleNamespace(uids=array("I", uids), highestmodseq=1)
    return SelectedView(cast(Mailbox, SimpleNamespace(snapshot=snapshot)), "INBOX", readonly=True)


def text_of(ranges: list[tuple[int | str, int | str | None]]) -> str:
    return ",".join(f"{low}" if high is None else f"{low}:{high}" for low, high in ranges)


@given(st.sets(st.integers(1, 50), min_size=1).map(sorted), RANGES)
def test_sequence_numbers_name_the_messages_at_those_positions(
    uids: list[int], ranges: list[tuple[int | str, int | str | None]]
) -> None:
    numbers = parse_sequence_set(text_of(ranges))
    expected = [uids[n - 1] for n in numbers.resolve(len(uids))]
    assert view_of(uids).uids_of(numbers, uid=False) == expected


@given(st.sets(st.integers(1, 50), min_size=1).map(sorted), RANGES)
def test_uid_sets_name_the_messages_with_those_uids(
    uids: list[int], ranges: list[tuple[int | str, int | str | None]]
) -> None:
    numbers = parse_sequence_set(text_of(ranges))
    expected = [uid for uid in uids if numbers.contains(uid, uids[-1])]
    assert view_of(uids).uids_of(numbers, uid=True) == expected


def test_the_whole_mailbox_is_every_uid_in_order() -> None:
    view = view_of([3, 7, 9])
    assert view.uids_of(parse_sequence_set("1:*"), uid=False) == [3, 7, 9]
    assert view.uids_of(parse_sequence_set("1:*"), uid=True) == [3, 7, 9]
    assert view.uids_of(parse_sequence_set("*:2"), uid=False) == [7, 9]
