"""Real clients against the server: Python's imaplib, aioimaplib, and Debian's mbsync
(a two-way sync of hundreds of messages with flags and deletions on both sides)."""

from __future__ import annotations

import asyncio
import imaplib
import shutil
from pathlib import Path

import aioimaplib
import pytest

from tests.support.imap_messages import append_many, message
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import PASSWORD, MailHost, client_tls

# -- imaplib -----------------------------------------------------------------------------------


def imaplib_session(port: int) -> dict[str, object]:
    seen: dict[str, object] = {}
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_tls()) as imap:
        imap.login("alice@example.test", PASSWORD)
        typ, _ = imap.append("INBOX", r"(\Flagged)", None, message(1))
        assert typ == "OK"
        typ, data = imap.select("INBOX")
        seen["exists"] = data[0]
        typ, data = imap.uid("SEARCH", None, "SUBJECT", '"message 1"')
        seen["search"] = data[0]
        uid = data[0].split()[0].decode()
        typ, data = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        seen["fetch"] = data
        typ, data = imap.uid("STORE", uid, "+FLAGS", r"(\Seen)")
        seen["store"] = data
        typ, data = imap.uid("COPY", uid, "Archive")
        seen["copy"] = typ
        typ, data = imap.uid("MOVE", uid, "Trash")
        seen["move"] = typ
        typ, data = imap.select("Trash")
        seen["trash"] = data[0]
        imap.close()
        imap.logout()
    return seen


async def test_imaplib_does_the_everyday_things(imap_host: MailHost) -> None:
    seen = await asyncio.to_thread(imaplib_session, imap_host.port("imaps"))
    assert seen["exists"] == b"1"
    assert seen["search"] == b"1"
    fetched = seen["fetch"]
    assert isinstance(fetched, list)
    assert b"FLAGS (\\Flagged \\Recent)" in fetched[0][0]  # appended, then selected
    assert fetched[0][1] == b"Subject: message 1\r\n\r\n"
    assert seen["copy"] == "OK"
    assert seen["move"] == "OK"
    assert seen["trash"] == b"1"


# -- aioimaplib ----------------------------------------------------------------------------------


async def test_aioimaplib_waits_in_idle_and_hears_of_an_append(imap_host: MailHost) -> None:
    client = aioimaplib.IMAP4_SSL(
        "127.0.0.1", imap_host.port("imaps"), ssl_context=client_tls(), timeout=30
    )
    await client.wait_hello_from_server()
    response = await client.login("alice@example.test", PASSWORD)
    assert response.result == "OK"
    response = await client.select("INBOX")
    assert response.result == "OK"
    idle = await client.idle_start(timeout=30)
    other = await login(imap_host)
    await append_many(other, "INBOX", range(1, 2))
    pushed = await client.wait_server_push(timeout=10)
    client.idle_done()
    await asyncio.wait_for(idle, 10)
    assert b"1 EXISTS" in b" ".join(
        line if isinstance(line, bytes) else line.encode() for line in pushed
    )
    await client.logout()
    await other.close()


# -- mbsync ------------------------------------------------------------------------------------

MBSYNC = shutil.which("mbsync")


def mbsync_config(host: MailHost, local: Path) -> Path:
    config = host.root / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount mailroom
Host 127.0.0.1
Port {host.port("imaps")}
User alice@example.test
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {host.root / "tls" / "cert.pem"}
SystemCertificates no

IMAPStore remote
Account mailroom

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
"""
    )
    return config


async def run_mbsync(config: Path) -> str:
    if MBSYNC is None:
        pytest.fail("mbsync is not installed (.ci/run installs it: apt-get install isync)")
    process = await asyncio.create_subprocess_exec(
        MBSYNC,
        "-c",
        str(config),
        "-a",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text
    return text


def local_messages(folder: Path) -> dict[str, str]:
    """Message-ID → Maildir flag letters of a local Maildir folder."""
    found = {}
    for sub in ("new", "cur"):
        for path in (folder / sub).iterdir():
            head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            for line in head.splitlines():
                if line.lower().startswith(b"message-id:"):
                    flags = path.name.partition(":2,")[2]
                    found[line.split(b":", 1)[1].strip().decode()] = flags
    return found


async def server_messages(talk: ImapTalk, folder: str) -> dict[str, str]:
    """Message-ID → flags, as the server lists them."""
    reply = await talk.command(f"EXAMINE {folder}")
    assert reply.ok, reply.tagged
    reply = await talk.command("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert reply.ok, reply.tagged
    found = {}
    for line in reply.untagged:
        if b" FETCH " not in line:
            continue
        flags = line.split(b"FLAGS (", 1)[1].split(b")", 1)[0].decode()
        message_id = line.split(b"Message-ID:", 1)[1].split(b"\r\n", 1)[0].strip().decode()
        found[message_id] = flags
    return found


LETTERS = {"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Deleted": "T", "\\Draft": "D"}


def as_letters(flags: str) -> str:
    return "".join(sorted(LETTERS[f] for f in flags.split() if f in LETTERS))


async def test_mbsync_two_way_sync_keeps_both_sides_equal(
    imap_host: MailHost, tmp_path: Path
) -> None:
    talk = await login(imap_host)
    await append_many(talk, "INBOX", range(1, 301))
    local = tmp_path / "local"
    local.mkdir()
    config = mbsync_config(imap_host, local)

    await run_mbsync(config)
    assert len(local_messages(local / "INBOX")) == 300

    # Changes on the server: flags on 1..20, 21..30 deleted, five new messages.
    assert (await talk.command("SELECT INBOX")).ok
    assert (await talk.command("STORE 1:20 +FLAGS.SILENT (\\Flagged)")).ok
    assert (await talk.command("STORE 21:30 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await talk.command("EXPUNGE")).ok
    await append_many(talk, "INBOX", range(301, 306))
    # Changes on this side: 100..149 read, 200..209 deleted.
    inbox = local / "INBOX"
    for sub in ("new", "cur"):
        for path in list((inbox / sub).iterdir()):
            text = path.read_bytes()
            number = int(text.split(b"Subject: message ", 1)[1].split(b"\r", 1)[0].split(b"\n")[0])
            if 100 <= number < 150:
                base, _, flags = path.name.partition(":2,")
                path.rename(inbox / "cur" / f"{base}:2,{''.join(sorted(set(flags + 'S')))}")
            elif 200 <= number < 210:
                path.unlink()

    await run_mbsync(config)

    near = local_messages(inbox)
    far = await server_messages(talk, "INBOX")
    assert set(near) == set(far)
    assert len(far) == 300 - 10 + 5 - 10
    assert {k: v for k, v in near.items()} == {k: as_letters(v) for k, v in far.items()}
    assert far["<m5@example.org>"] == "\\Flagged"
    assert "\\Seen" in far["<m120@example.org>"]
    assert "<m25@example.org>" not in near
    assert "<m205@example.org>" not in far
    assert "<m303@example.org>" in near
    await talk.close()
