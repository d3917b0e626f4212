"""The positions a SORT context sends (RFC 5267 §4.3.3–4): a client that applies the
REMOVEFROM pairs, then the ADDTO pairs, in the order they come, ends with the new
result; and the keys a context keeps name UIDs only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.imap.search_contexts import addition_pairs, removal_pairs, uid_set


def apply_removals(order: list[int], pairs: list[tuple[int, list[int]]]) -> list[int]:
    result = list(order)
    for position, uids in pairs:
        assert result[position - 1 : position - 1 + len(uids)] == uids
        del result[position - 1 : position - 1 + len(uids)]
    return result


def apply_additions(order: list[int], pairs: list[tuple[int, list[int]]]) -> list[int]:
    result = list(order)
    for position, uids in pairs:
        assert 1 <= position <= len(result) + 1
        result[position - 1 : position - 1] = uids
    return result


@settings(max_examples=400, deadline=None)
@given(st.permutations(range(1, 30)), st.data())
def test_a_client_applying_the_pairs_gets_the_new_order(
    everything: list[int], data: st.DataObject
) -> None:
    # The sort keys of a message never change: the old and the new result are both
    # subsequences of one order of all messages.
    old = [uid for uid in everything if data.draw(st.booleans())]
    new = [uid for uid in everything if data.draw(st.booleans())]
    removed = set(old) - set(new)
    added = set(new) - set(old)
    pairs, left = removal_pairs(old, removed)
    assert apply_removals(old, pairs) == left
    assert apply_additions(left, addition_pairs(new, added)) == new


def test_runs_of_positions_become_one_pair() -> None:
    assert removal_pairs([5, 4, 3, 2, 1], {4, 3, 1}) == ([(5, [1]), (2, [4, 3])], [5, 2])
    assert addition_pairs([5, 4, 3, 2, 1], {4, 3, 1}) == [(2, [4, 3]), (5, [1])]


@given(st.sets(st.integers(1, 200)))
def test_uid_sets_name_exactly_their_uids(uids: set[int]) -> None:
    found = uid_set(sorted(uids))
    assert {uid for uid in range(0, 202) if found.contains(uid, 200)} == uids
