"""Switching over from Dovecot without "leave mail on server" clients fetching everything
again: the UIDLs of a migrated Maildir are the ones Dovecot gave, and they stay so when
our index is rebuilt."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailroom.store import Maildir
from tests.support.dovecot_maildir import FIXTURE
from tests.support.mail_host import MailHost
from tests.support.pop3_talk import Pop3Talk

BOB = "bob@example.test"
DOVECOT_ANSWERS = Path(__file__).parent / "fixtures" / "dovecot-2.3-answers.txt"


def dovecot_answers() -> dict[str, list[bytes]]:
    """What Dovecot 2.3 answered for FIXTURE: command -> lines (fixtures/…-answers.txt)."""
    answers: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    for line in DOVECOT_ANSWERS.read_bytes().splitlines():
        if line.startswith(b"#"):
            continue
        if line in (b"STAT", b"UIDL", b"LIST"):
            current = answers.setdefault(line.decode(), [])
        else:
            current.append(line)
    return answers


def install(host: MailHost, maildir: Path) -> Path:
    target = host.maildir(BOB)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(maildir, target)
    return target


async def answers(host: MailHost) -> dict[str, list[bytes]]:
    pop = await Pop3Talk.logged_in(host, BOB)
    seen = {"STAT": [await pop.command("STAT")]}
    for command in ("UIDL", "LIST"):
        status, seen[command] = await pop.multiline(command)
        assert status.startswith(b"+OK")
    assert await pop.command("QUIT") == b"+OK Logging out."
    return seen


async def test_a_dovecot_maildir_answers_stat_uidl_and_list_as_dovecot_did(
    pop3_host: MailHost,
) -> None:
    install(pop3_host, FIXTURE)
    assert await answers(pop3_host) == dovecot_answers()


async def test_uidls_stay_when_the_index_is_rebuilt(pop3_host: MailHost) -> None:
    # Folders nobody has open are closed at once, so the index can go as if the server
    # had been stopped.
    pop3_host.running.services.mail_store.linger = 0
    maildir = install(pop3_host, FIXTURE)
    first = await answers(pop3_host)
    indexes = list(maildir.glob("mailroom-index.sqlite*"))
    assert indexes
    for index in indexes:
        index.unlink()
    assert await answers(pop3_host) == first == dovecot_answers()


async def test_a_dovecot_1_uidlist_gives_uid_and_uidvalidity_in_hex(
    pop3_host: MailHost, tmp_path: Path
) -> None:
    # The legacy host ran Dovecot 1.0 (Debian Lenny), whose dovecot-uidlist is version 1:
    # `1 <uidvalidity> <nextuid>`, then `<uid> <file name>`. Its pop3_uidl_format default
    # is the same %08Xu%08Xv, and its %X printed with "%llx": lower-case hex.
    source = tmp_path / "Maildir"
    maildir = Maildir(source, hostname="legacy")
    maildir.create()
    names = ["1200000000.M1P1.legacy", "1200000001.M2P1.legacy", "1200000002.M3P1.legacy"]
    for number, name in enumerate(names, 1):
        (source / "cur" / f"{name}:2,S").write_bytes(b"Subject: old %d\n\nBody.\n" % number)
    uids = [7, 8, 300]
    records = [b"%d %s" % (u, n.encode()) for u, n in zip(uids, names, strict=True)]
    lines = [b"1 1199999999 301", *records]
    (source / "dovecot-uidlist").write_bytes(b"\n".join(lines) + b"\n")
    install(pop3_host, source)
    seen = await answers(pop3_host)
    assert seen["UIDL"] == [b"1 0000000747868bff", b"2 0000000847868bff", b"3 0000012c47868bff"]
    assert 1199999999 == 0x47868BFF


async def test_a_uidl_dovecot_kept_in_the_uidlist_is_answered_as_it_is(
    pop3_host: MailHost, tmp_path: Path
) -> None:
    # Dovecot keeps the UIDL of mail migrated from another POP3 server in the uidlist's
    # P field (pop3_migration) and answers with it; so do we. A value no UIDL may be
    # (RFC 1939 §7: 1-70 characters 0x21-0x7E) falls back to the usual one.
    source = tmp_path / "Maildir"
    Maildir(source, hostname="legacy").create()
    names = ["1300000000.M1P1.legacy", "1300000001.M2P1.legacy"]
    for name in names:
        (source / "cur" / f"{name}:2,").write_bytes(b"Subject: migrated\n\nBody.\n")
    text = (
        "3 V1300000000 N3 G98c6a82b9bee066b4535000083ecc375\n"
        f"1 PUID-from-courier-1 :{names[0]}\n"
        f"2 P{'x' * 71} :{names[1]}\n"
    )
    (source / "dovecot-uidlist").write_text(text)
    install(pop3_host, source)
    seen = await answers(pop3_host)
    assert seen["UIDL"] == [b"1 UID-from-courier-1", b"2 00000002%08x" % 1300000000]
