"""SORT on address keys when a header starts with RFC 5322 group syntax.

RFC 5256 §3 sorts FROM, TO and CC on the addr-mailbox of the first address and RFC
5957 DISPLAYFROM/DISPLAYTO on its display name. A group (`Team: a@b, c@d;`) has
neither: strict testers and Dovecot sort it on the group name (Dovecot's first
address is the group's start marker, whose mailbox is the name). An empty group
(`undisclosed-recipients:;`) sorts on its name too; a mailbox named by a comment
(`x@y (Name)`) sorts on that name for the DISPLAY keys.

| # | each of From, To, Cc                 | mailbox key | display key |
|---|--------------------------------------|-------------|-------------|
| 1 | Mary <mary@example.test>             | mary        | Mary        |
| 2 | zoe@example.test (Nadia)             | zoe         | Nadia       |
| 3 | Kappa: zzz@example.test (Zz), a@b;   | Kappa       | Kappa       |
| 4 | delta-list:;                         | delta-list  | delta-list  |
"""

from __future__ import annotations

import pytest

from tests.support.imap_talk import ImapTalk

ADDRESSES = (
    "Mary <mary@example.test>",
    "zoe@example.test (Nadia)",
    "Kappa: zzz@example.test (Zz), Aaron <aaron@example.test>;",
    "delta-list:;",
)


def message(address: str, number: int) -> bytes:
    return (
        f"From: {address}\r\nTo: {address}\r\nCc: {address}\r\n"
        f"Subject: {number}\r\n\r\nBody {number}.\r\n"
    ).encode()


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    for number, address in enumerate(ADDRESSES, start=1):
        assert (await alice.append("INBOX", message(address, number))).ok
    assert (await alice.command("SELECT INBOX")).ok
    return alice


async def sort(talk: ImapTalk, key: str) -> bytes:
    reply = await talk.command(f"SORT ({key}) UTF-8 ALL")
    assert reply.ok, reply.tagged
    (line,) = reply.untagged
    return line


@pytest.mark.parametrize("key", ["FROM", "TO", "CC"])
async def test_a_group_sorts_on_its_name_for_the_mailbox_keys(alice: ImapTalk, key: str) -> None:
    # delta-list (4), Kappa (3), mary (1), zoe (2)
    assert await sort(alice, key) == b"* SORT 4 3 1 2"


@pytest.mark.parametrize("key", ["FROM", "TO", "CC"])
async def test_reverse_of_a_group_key(alice: ImapTalk, key: str) -> None:
    assert await sort(alice, f"REVERSE {key}") == b"* SORT 2 1 3 4"


@pytest.mark.parametrize("key", ["DISPLAYFROM", "DISPLAYTO"])
async def test_a_group_sorts_on_its_name_for_the_display_keys(alice: ImapTalk, key: str) -> None:
    # delta-list (4), Kappa (3), Mary (1), Nadia (2: the comment names the mailbox)
    assert await sort(alice, key) == b"* SORT 4 3 1 2"


async def test_the_strict_testers_case(alice: ImapTalk) -> None:
    # Three messages only: the issue's `3 1 2` (group first, by its name).
    assert (await alice.command("SEARCH RETURN (SAVE) 1:3")).ok
    reply = await alice.command("SORT (CC) UTF-8 $")
    assert reply.untagged == [b"* SORT 3 1 2"]
