"""SEARCH RETURN (…) (RFC 4731 ESEARCH) and the saved result `$` (RFC 5182 SEARCHRES).

Five messages; 2, 3 and 5 are \\Flagged, 4 is \\Seen. The answers are checked
against Dovecot's: `* ESEARCH (TAG "a7") UID MIN 2 MAX 5 ALL 2:3,5 COUNT 3`."""

from __future__ import annotations

import pytest

from tests.support.imap_talk import ImapTalk


def message(number: int) -> bytes:
    return (
        f"From: Bob <bob@example.test>\r\n"
        f"To: Alice <alice@example.test>\r\n"
        f"Subject: Message {number}\r\n"
        f"Message-ID: <{number}@example.test>\r\n"
        f"\r\n"
        f"Body {number}.\r\n"
    ).encode()


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with the five messages in INBOX, selected, flags set."""
    for number in range(1, 6):
        assert (await alice.append("INBOX", message(number))).ok
    for command in (
        "SELECT INBOX",
        r"STORE 2:3,5 +FLAGS.SILENT (\Flagged)",
        r"STORE 4 +FLAGS.SILENT (\Seen)",
    ):
        reply = await alice.command(command)
        assert reply.ok, reply.tagged
    return alice


async def esearch(talk: ImapTalk, command: str) -> list[str]:
    """The untagged answer of a SEARCH that must succeed, with `TAG "aN"` made `TAG _`."""
    tag = talk.next_tag()
    await talk.send(f"{tag} {command}\r\n".encode())
    reply = await talk.reply(tag)
    assert reply.tagged.endswith(b" OK Search completed."), reply.tagged
    return [line.replace(f'(TAG "{tag}")', "(TAG _)") for line in reply.lines("")]


async def test_min_is_the_lowest_match(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (MIN) FLAGGED") == ["ESEARCH (TAG _) MIN 2"]


async def test_max_is_the_highest_match(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (MAX) FLAGGED") == ["ESEARCH (TAG _) MAX 5"]


async def test_count_is_the_number_of_matches(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (COUNT) FLAGGED") == ["ESEARCH (TAG _) COUNT 3"]


async def test_all_is_a_compact_sequence_set(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (ALL) FLAGGED") == ["ESEARCH (TAG _) ALL 2:3,5"]


async def test_empty_return_list_means_all(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN () FLAGGED") == ["ESEARCH (TAG _) ALL 2:3,5"]


async def test_all_options_together_in_dovecot_order(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (COUNT ALL MAX MIN) FLAGGED") == [
        "ESEARCH (TAG _) MIN 2 MAX 5 ALL 2:3,5 COUNT 3"
    ]


async def test_no_match_gives_only_the_count(alice: ImapTalk) -> None:
    # RFC 4731 §3.1: MIN, MAX and ALL are left out when nothing matched.
    assert await esearch(alice, "SEARCH RETURN (MIN MAX ALL COUNT) DRAFT") == [
        "ESEARCH (TAG _) COUNT 0"
    ]


async def test_no_match_without_count_is_the_bare_esearch(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (MIN) DRAFT") == ["ESEARCH (TAG _)"]


async def test_the_tag_is_the_commands_tag_quoted(alice: ImapTalk) -> None:
    await alice.send(b"x.1 SEARCH RETURN (COUNT) ALL\r\n")
    reply = await alice.reply("x.1")
    assert reply.untagged == [b'* ESEARCH (TAG "x.1") COUNT 5']


async def test_uid_search_marks_the_answer_uid_and_gives_uids(alice: ImapTalk) -> None:
    await alice.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    await alice.command("EXPUNGE")
    assert await esearch(alice, "UID SEARCH RETURN (MIN MAX ALL) FLAGGED") == [
        "ESEARCH (TAG _) UID MIN 2 MAX 5 ALL 2:3,5"
    ]
    assert await esearch(alice, "SEARCH RETURN (MIN MAX ALL) FLAGGED") == [
        "ESEARCH (TAG _) MIN 1 MAX 4 ALL 1:2,4"
    ]


async def test_modseq_key_adds_the_highest_modseq(alice: ImapTalk) -> None:
    reply = await alice.command(r"STORE 5 +FLAGS (\Answered)")
    assert reply.ok
    # The first FETCH MODSEQ also announces HIGHESTMODSEQ (RFC 7162 §3.1).
    (line,) = (await alice.command("FETCH 5 MODSEQ")).lines("5 FETCH")
    modseq = int(line.split("MODSEQ (")[1].removesuffix("))"))
    assert await esearch(alice, f"SEARCH RETURN (ALL) MODSEQ {modseq}") == [
        f"ESEARCH (TAG _) ALL 5 MODSEQ {modseq}"
    ]


# -- SAVE and $ ---------------------------------------------------------------------------


async def test_save_alone_answers_nothing_but_ok(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED") == []


async def test_fetch_of_dollar_fetches_the_saved_result(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    reply = await alice.command("FETCH $ UID")
    assert reply.untagged == [b"* 2 FETCH (UID 2)", b"* 3 FETCH (UID 3)", b"* 5 FETCH (UID 5)"]


async def test_search_dollar_combines_with_other_keys(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    assert await esearch(alice, "SEARCH $ NOT 3") == ["SEARCH 2 5"]
    assert await esearch(alice, "UID SEARCH UID $") == ["SEARCH 2 3 5"]
    assert await esearch(alice, "SEARCH OR $ SEEN") == ["SEARCH 2 3 4 5"]


async def test_save_with_all_answers_and_saves_all(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH RETURN (SAVE ALL) FLAGGED") == ["ESEARCH (TAG _) ALL 2:3,5"]
    assert await esearch(alice, "SEARCH $") == ["SEARCH 2 3 5"]


async def test_save_with_min_saves_only_the_lowest(alice: ImapTalk) -> None:
    # RFC 5182 §2.1 (and Dovecot): SAVE with MIN and/or MAX alone saves those.
    assert await esearch(alice, "SEARCH RETURN (SAVE MIN) FLAGGED") == ["ESEARCH (TAG _) MIN 2"]
    assert await esearch(alice, "SEARCH $") == ["SEARCH 2"]


async def test_save_with_min_and_max_saves_both_ends(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (MAX SAVE MIN) FLAGGED")
    assert await esearch(alice, "SEARCH $") == ["SEARCH 2 5"]


async def test_save_with_min_and_count_saves_all(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE MIN COUNT) FLAGGED")
    assert await esearch(alice, "SEARCH $") == ["SEARCH 2 3 5"]


async def test_dollar_before_any_save_is_empty(alice: ImapTalk) -> None:
    assert await esearch(alice, "SEARCH $") == ["SEARCH"]
    reply = await alice.command("FETCH $ UID")
    assert reply.ok
    assert reply.untagged == []


async def test_dollar_holds_uids_so_it_survives_an_expunge(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    await alice.command(r"STORE 2 +FLAGS.SILENT (\Deleted)")
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* 2 EXPUNGE"]
    reply = await alice.command("FETCH $ UID")
    assert reply.untagged == [b"* 2 FETCH (UID 3)", b"* 4 FETCH (UID 5)"]


async def test_a_failed_save_search_leaves_dollar_empty(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    reply = await alice.command("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
    assert reply.status == "NO"
    assert await esearch(alice, "SEARCH $") == ["SEARCH"]


async def test_a_save_search_may_use_the_previous_dollar(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    await esearch(alice, "SEARCH RETURN (SAVE) $ NOT 3")
    assert await esearch(alice, "SEARCH $") == ["SEARCH 2 5"]


async def test_select_forgets_the_saved_result(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    assert (await alice.command("SELECT INBOX")).ok
    assert await esearch(alice, "SEARCH $") == ["SEARCH"]


async def test_store_on_dollar_changes_the_saved_messages(alice: ImapTalk) -> None:
    await esearch(alice, "SEARCH RETURN (SAVE) FLAGGED")
    reply = await alice.command(r"STORE $ +FLAGS.SILENT (\Draft)")
    assert reply.ok
    assert await esearch(alice, "SEARCH DRAFT") == ["SEARCH 2 3 5"]


async def test_min_alone_reports_the_modseq_of_that_message(alice: ImapTalk) -> None:
    # RFC 4731 §3.2 (and Dovecot): with only MIN, MODSEQ is that of the MIN message.
    await alice.command(r"STORE 2 +FLAGS.SILENT (\Answered)")
    await alice.command(r"STORE 5 +FLAGS.SILENT (\Answered)")
    reply = await alice.command("FETCH 2,5 MODSEQ")
    lines = reply.lines("2 FETCH") + reply.lines("5 FETCH")
    second, fifth = (int(line.split("MODSEQ (")[1].removesuffix("))")) for line in lines)
    assert second < fifth
    assert await esearch(alice, f"SEARCH RETURN (MIN) MODSEQ {second}") == [
        f"ESEARCH (TAG _) MIN 2 MODSEQ {second}"
    ]
    assert await esearch(alice, f"SEARCH RETURN (COUNT) MODSEQ {second}") == [
        f"ESEARCH (TAG _) COUNT 2 MODSEQ {fifth}"
    ]
