"""ENVELOPE and BODYSTRUCTURE values kept in the process's memory (store/message_cache.py):
a second FETCH of them is answered from there, exactly as the first, and the cache never
answers for another file, another folder, or an expunged message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mailroom.store import MESSAGE_VALUES, MessageInfo, MessageValues
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

MESSAGE = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Remembered\r\n"
    b"Message-ID: <remembered@example.test>\r\n"
    b"\r\n"
    b"Hello.\r\n"
)
ENVELOPE = (
    b'* 1 FETCH (ENVELOPE (NIL "Remembered"'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Bob" NIL "bob" "example.test")) NIL NIL NIL "<remembered@example.test>"))'
)


def info(uid: int, base_name: str, stored_size: int, folder: str = "/m/.A") -> MessageInfo:
    return MessageInfo(
        uid,
        frozenset(),
        1,
        stored_size,
        datetime(2026, 1, 1, tzinfo=UTC),
        False,
        base_name,
        base_name,
        "",
        stored_size,
        Path(folder),
    )


def test_a_value_is_found_only_under_the_same_folder_file_and_size() -> None:
    cache = MessageValues()
    one = info(1, "100.M1P1.host", 300)
    cache.remember("envelope", [one], {1: b"(one)"})
    found, missing = cache.known(
        "envelope",
        [
            info(7, "100.M1P1.host", 300),  # the same file under another UID: found
            info(8, "100.M1P1.host", 301),  # another size
            info(9, "100.M2P1.host", 300),  # another file
            info(10, "100.M1P1.host", 300, folder="/m/.B"),  # another folder
        ],
    )
    assert found == {7: b"(one)"}
    assert [m.uid for m in missing] == [8, 9, 10]
    assert cache.known("bodystructure", [one]) == ({}, [one])


def test_the_least_recently_used_values_go_first_past_the_limit() -> None:
    cache = MessageValues(limit=10)
    messages = [info(uid, f"{uid}.M1P1.host", 100) for uid in (1, 2, 3)]
    cache.remember("envelope", messages[:2], {1: b"aaaa", 2: b"bbbb"})
    cache.known("envelope", messages[:1])  # 1 was used last
    cache.remember("envelope", messages[2:], {3: b"cccc"})
    found, _ = cache.known("envelope", messages)
    assert found == {1: b"aaaa", 3: b"cccc"}
    assert len(cache) == 2


async def test_a_second_fetch_envelope_is_answered_from_memory_as_the_first(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.append("INBOX", MESSAGE)).ok
    assert (await alice.command("SELECT INBOX")).ok
    before = len(MESSAGE_VALUES)
    first = await alice.command("FETCH 1 ENVELOPE")
    assert first.untagged == [ENVELOPE]
    assert len(MESSAGE_VALUES) == before + 1
    other = await login(imap_host)
    try:
        assert (await other.command("EXAMINE INBOX")).ok
        again = await other.command("FETCH 1 ENVELOPE")
        assert again.untagged == [ENVELOPE]
        assert again.tagged.endswith(b" OK Fetch completed.")
    finally:
        await other.close()


async def test_a_message_expunged_meanwhile_is_not_answered_from_memory(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.append("INBOX", MESSAGE)).ok
    assert (await alice.command("SELECT INBOX")).ok
    assert (await alice.command("FETCH 1 ENVELOPE")).untagged == [ENVELOPE]
    other = await login(imap_host)
    try:
        assert (await other.command("SELECT INBOX")).ok
        assert (await other.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
        assert (await other.command("EXPUNGE")).ok
    finally:
        await other.close()
    again = await alice.command("FETCH 1 ENVELOPE")  # the expunge is held back in FETCH
    assert again.untagged == []
    assert b"[EXPUNGEISSUED]" in again.tagged
