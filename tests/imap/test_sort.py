"""SORT and UID SORT over the wire (RFC 5256 SORT, RFC 5957 SORT=DISPLAY, RFC 5267 ESORT).

| # | From                          | Subject                     | Date: (UTC)       | arrived |
|---|-------------------------------|-----------------------------|-------------------|---------|
| 1 | Zed <aaron@…>                 | Re: Budget                  | 2 Mar 09:00       | 5 Mar   |
| 2 | Bob <bob@…>                   | budget                      | 1 Mar 23:00 -0500 | 4 Mar   |
|   |                               |                             | (2 Mar 04:00)     |         |
| 3 | alice@… (no display name)     | Fwd: Agenda                 | 2 Mar 06:00 +0100 | 6 Mar   |
|   |                               |                             | (2 Mar 05:00)     |         |
| 4 | Carol <carol@…>               | Re: [team] Agenda (fwd)     | none: arrival     | 1 Mar   |
| 5 | =?UTF-8?Q?=C3=89mile?= <…>    | Zebra                       | 3 Mar 08:00       | 7 Mar   |

Base subjects (RFC 5256 §2.1): budget, budget, agenda, agenda, zebra.
"""

from __future__ import annotations

import pytest

from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost


def message(sender: str, subject: str, date: str | None, body: str) -> bytes:
    lines = [f"From: {sender}", "To: Team <team@example.test>", f"Subject: {subject}"]
    if date is not None:
        lines.append(f"Date: {date}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


MESSAGES = (
    (
        message("Zed <aaron@example.test>", "Re: Budget", "Mon, 02 Mar 2026 09:00:00 +0000", "a"),
        "05-Mar-2026 12:00:00 +0000",
    ),
    (
        message("Bob <bob@example.test>", "budget", "Sun, 01 Mar 2026 23:00:00 -0500", "b" * 300),
        "04-Mar-2026 12:00:00 +0000",
    ),
    (
        message("alice@example.test", "Fwd: Agenda", "Mon, 02 Mar 2026 06:00:00 +0100", "c" * 40),
        "06-Mar-2026 12:00:00 +0000",
    ),
    (
        message("Carol <carol@example.test>", "Re: [team] Agenda (fwd)", None, "d" * 200),
        "01-Mar-2026 12:00:00 +0000",
    ),
    (
        message(
            "=?UTF-8?Q?=C3=89mile?= <emile@example.test>",
            "Zebra",
            "Tue, 03 Mar 2026 08:00:00 +0000",
            "e" * 100,
        ),
        "07-Mar-2026 12:00:00 +0000",
    ),
)


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with the five messages in INBOX, selected."""
    for data, arrived in MESSAGES:
        assert (await alice.append("INBOX", data, f'"{arrived}"')).ok
    assert (await alice.command("SELECT INBOX")).ok
    return alice


async def sort(talk: ImapTalk, command: str) -> bytes:
    """The one untagged line of a SORT that must succeed."""
    reply = await talk.command(command)
    assert reply.tagged.endswith(b" OK Sort completed."), reply.tagged
    (line,) = reply.untagged
    return line


async def test_arrival_is_the_internal_date(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (ARRIVAL) UTF-8 ALL") == b"* SORT 4 2 1 3 5"


async def test_reverse_arrival(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (REVERSE ARRIVAL) UTF-8 ALL") == b"* SORT 5 3 1 2 4"


async def test_date_compares_sent_instants_and_falls_back_to_arrival(alice: ImapTalk) -> None:
    # 4 has no Date: its internal date (1 Mar) counts; 2 and 3 were sent on 2 Mar
    # in UTC before 1 was, whatever their own time zones say.
    assert await sort(alice, "SORT (DATE) UTF-8 ALL") == b"* SORT 4 2 3 1 5"


async def test_reverse_date(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (REVERSE DATE) UTF-8 ALL") == b"* SORT 5 1 3 2 4"


async def test_subject_sorts_base_subjects_without_re_fwd_and_blobs(alice: ImapTalk) -> None:
    # agenda (3, 4), budget (1, 2), zebra (5); equal subjects in mailbox order.
    assert await sort(alice, "SORT (SUBJECT) UTF-8 ALL") == b"* SORT 3 4 1 2 5"


async def test_a_second_key_orders_what_the_first_finds_equal(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (SUBJECT DATE) UTF-8 ALL") == b"* SORT 4 3 2 1 5"


async def test_reverse_applies_to_its_own_key_only(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (REVERSE SUBJECT DATE) UTF-8 ALL") == b"* SORT 5 2 1 4 3"


async def test_from_sorts_the_mailbox_part_of_the_address(alice: ImapTalk) -> None:
    # aaron (1), alice (3), bob (2), carol (4), emile (5)
    assert await sort(alice, "SORT (FROM) UTF-8 ALL") == b"* SORT 1 3 2 4 5"


async def test_displayfrom_sorts_the_display_name_or_the_address(alice: ImapTalk) -> None:
    # RFC 5957: "alice@example.test" (3), Bob (2), Carol (4), Émile (5), Zed (1); the
    # i;unicode-casemap comparator puts É with E.
    assert await sort(alice, "SORT (DISPLAYFROM) UTF-8 ALL") == b"* SORT 3 2 4 5 1"


async def test_size_sorts_by_rfc822_size(alice: ImapTalk) -> None:
    sizes = {number: len(data) for number, (data, _) in enumerate(MESSAGES, start=1)}
    expected = sorted(sizes, key=lambda number: (sizes[number], number))
    answer = "* SORT " + " ".join(str(number) for number in expected)
    assert await sort(alice, "SORT (SIZE) UTF-8 ALL") == answer.encode()


async def test_sort_sorts_only_what_the_search_keys_find(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (REVERSE DATE) UTF-8 SUBJECT agenda") == b"* SORT 3 4"


async def test_sort_of_nothing_is_an_empty_sort(alice: ImapTalk) -> None:
    assert await sort(alice, "SORT (DATE) UTF-8 DRAFT") == b"* SORT"


async def test_uid_sort_answers_uids(alice: ImapTalk) -> None:
    await alice.command(r"STORE 4 +FLAGS.SILENT (\Deleted)")
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* 4 EXPUNGE"]
    assert await sort(alice, "UID SORT (DATE) UTF-8 ALL") == b"* SORT 2 3 1 5"
    assert await sort(alice, "SORT (DATE) UTF-8 ALL") == b"* SORT 2 3 1 4"


async def test_esort_gives_min_max_in_sort_order(alice: ImapTalk) -> None:
    # RFC 5267 §3.1 (as Dovecot): MIN and MAX are the first and last in sort order,
    # ALL keeps the sort order.
    assert await sort(alice, "SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 ALL") == (
        b'* ESEARCH (TAG "a8") MIN 4 MAX 5 ALL 4,2:3,1,5 COUNT 5'
    )


async def test_sort_with_an_unknown_charset_is_no_badcharset(alice: ImapTalk) -> None:
    reply = await alice.command("SORT (DATE) KOI8-R ALL")
    assert reply.untagged == []
    assert b" NO [BADCHARSET (US-ASCII UTF-8)] " in reply.tagged


async def test_sort_with_an_unknown_key_is_bad(alice: ImapTalk) -> None:
    reply = await alice.command("SORT (COLOUR) UTF-8 ALL")
    assert reply.status == "BAD"


async def test_sort_without_a_selected_mailbox_is_bad(imap_host: MailHost) -> None:
    talk = await login(imap_host)
    reply = await talk.command("SORT (DATE) UTF-8 ALL")
    assert reply.tagged.endswith(b" BAD No mailbox selected.")
    await talk.close()


async def test_sort_with_a_modseq_key_reports_the_highest_modseq(alice: ImapTalk) -> None:
    # RFC 7162 §3.1.5 (as Dovecot, which answers SORT like SEARCH here).
    assert (await alice.command(r"STORE 3 +FLAGS.SILENT (\Flagged)")).ok
    # The first FETCH MODSEQ also announces HIGHESTMODSEQ (RFC 7162 §3.1).
    (line,) = (await alice.command("FETCH 3 MODSEQ")).lines("3 FETCH")
    modseq = int(line.split("MODSEQ (")[1].removesuffix("))"))
    assert await sort(alice, f"SORT (DATE) UTF-8 MODSEQ {modseq}") == (
        b"* SORT 3 (MODSEQ %d)" % modseq
    )
