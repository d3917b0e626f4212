"""Switching over from Dovecot: its Maildir is served with the same UIDs, flags and
keywords, and our index is only a cache (delete it and nothing is lost)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.dovecot_maildir import FIXTURE
from tests.support.imap_messages import append_many
from tests.support.imap_talk import login
from tests.support.mail_host import MailHost


def install_dovecot_maildir(host: MailHost, address: str) -> Path:
    target = host.maildir(address)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(FIXTURE, target)
    return target


async def test_a_dovecot_maildir_keeps_its_uids_flags_and_keywords(imap_host: MailHost) -> None:
    install_dovecot_maildir(imap_host, "bob@example.test")
    talk = await login(imap_host, "bob@example.test")
    reply = await talk.command("SELECT INBOX")
    assert b"* OK [UIDVALIDITY 1795616411] UIDs valid" in reply.untagged
    assert b"* OK [UIDNEXT 7] Predicted next UID" in reply.untagged
    assert b"* 5 EXISTS" in reply.untagged
    reply = await talk.command("FETCH 1:* (UID FLAGS)")
    assert reply.lines("") == [
        "1 FETCH (UID 1 FLAGS (\\Seen $Forwarded))",
        "2 FETCH (UID 2 FLAGS (\\Flagged \\Answered Junk NonJunk))".replace(
            "\\Flagged \\Answered", "\\Answered \\Flagged"
        ),
        "3 FETCH (UID 4 FLAGS ())",
        "4 FETCH (UID 5 FLAGS ())",
        "5 FETCH (UID 6 FLAGS (\\Recent))",
    ]
    reply = await talk.command('LIST "" "*"')
    # "Entwürfe" is in [mailbox.special_use]'s drafts list; no folder was added.
    assert reply.lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX"',
        'LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"',
    ]
    # A folder Dovecot made but never opened (only new/ and its uidlist) can be selected.
    reply = await talk.command('SELECT "Entw&APw-rfe"')
    assert reply.ok, reply.tagged
    await talk.close()


async def test_new_mail_in_a_dovecot_maildir_continues_its_uids(imap_host: MailHost) -> None:
    maildir = install_dovecot_maildir(imap_host, "bob@example.test")
    talk = await login(imap_host, "bob@example.test")
    await append_many(talk, "INBOX", range(1, 2))
    assert (await talk.command("SELECT INBOX")).ok
    reply = await talk.command("UID FETCH 7 (UID)")
    assert reply.lines("") == ["6 FETCH (UID 7)"]
    # And Dovecot would agree: the new message is in its uidlist as UID 7.
    assert any(
        line.startswith(b"7 ") for line in (maildir / "dovecot-uidlist").read_bytes().splitlines()
    )
    await talk.close()


async def test_deleting_the_index_loses_nothing(imap_host: MailHost) -> None:
    # Folders nobody has open are closed at once (not kept a while for the next SELECT),
    # so the index below is deleted as it would be with the server stopped.
    imap_host.running.services.mail_store.linger = 0
    talk = await login(imap_host)
    await append_many(talk, "INBOX", range(1, 6))
    assert (await talk.command("SELECT INBOX")).ok
    assert (await talk.command("STORE 2 +FLAGS (\\Flagged $Important)")).ok
    before = await talk.command("FETCH 1:* (UID FLAGS ENVELOPE)")
    highest_before = _highestmodseq(before, await talk.command("EXAMINE INBOX"))
    assert (await talk.command("CLOSE")).ok

    for index in imap_host.maildir("alice@example.test").glob("mailroom-index.sqlite*"):
        index.unlink()

    talk = await login(imap_host)
    selected = await talk.command("SELECT INBOX")
    after = await talk.command("FETCH 1:* (UID FLAGS ENVELOPE)")
    assert _without_recent(after.lines("")) == _without_recent(before.lines(""))
    assert _highestmodseq(after, selected) > highest_before
    await talk.close()


def _without_recent(lines: list[str]) -> list[str]:
    return [line.replace(" \\Recent", "").replace("\\Recent", "") for line in lines]


def _highestmodseq(_: object, selected: object) -> int:
    for line in selected.untagged:  # type: ignore[attr-defined]
        if b"HIGHESTMODSEQ" in line:
            return int(line.split(b"HIGHESTMODSEQ ", 1)[1].split(b"]", 1)[0])
    raise AssertionError("no HIGHESTMODSEQ")
