"""IMAP's OK to APPEND, COPY and MOVE is written only once the messages are on stable
storage, seen in the system calls of the real server (`mailroom serve` under strace):
APPEND's file fsynced in `tmp/`, linked into `new/` or `cur/`, that directory fsynced;
COPY's hard link (MOVE's rename) into the target folder, and the target directory
fsynced; all before the tagged OK reached the socket. The listener is plain text on
loopback so that the OK can be read in the trace."""

from __future__ import annotations

import re
from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD
from tests.support.server_process import prepare_host
from tests.support.strace import traced_server

LISTENERS = (ListenerExample("imap", "imap", 0, "none"),)
PLAIN_ON_LOOPBACK = {'tls = "none"': 'tls = "none"\nplaintext_networks = ["127.0.0.1/32"]'}


def folder_files(config: Path, folder: str = "") -> set[Path]:
    """The messages of alice's folder (`""`: INBOX), by path."""
    maildir = (config.parent / "data" / "mail" / "example.test" / "alice" / "Maildir").resolve()
    base = maildir / f".{folder}" if folder else maildir
    return {path for sub in ("new", "cur") for path in (base / sub).glob("*")}


async def session(port: int) -> ImapTalk:
    talk = await ImapTalk.open(port)
    assert (await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')).ok
    return talk


async def test_append_is_durable_before_ok(tmp_path: Path) -> None:
    """APPEND with flags (into cur/) and without (into new/)."""
    config, port = await prepare_host(tmp_path / "host", PLAIN_ON_LOOPBACK, LISTENERS)
    async with traced_server(config) as server:
        talk = await session(port)
        plain = await talk.append("INBOX", b"Subject: plain\r\n\r\nOne.\r\n")
        flagged = await talk.append("INBOX", b"Subject: flagged\r\n\r\nTwo.\r\n", r"(\Seen)")
        assert plain.ok and flagged.ok, (plain.tagged, flagged.tagged)
        await talk.close()
        trace = await server.stop()
    files = folder_files(config)
    [new] = [path for path in files if path.parent.name == "new"]
    [cur] = [path for path in files if path.parent.name == "cur"]
    for path, reply in ((new, trace.reply(plain.tagged)), (cur, trace.reply(flagged.tagged))):
        trace.assert_stored(path, reply)
        # APPENDUID promised a UID: the uidlist line giving it is on disk too.
        record = f":{path.name.split(':')[0]}\n".encode()
        trace.assert_recorded(path.parent.parent / "dovecot-uidlist", record, reply)


async def test_copy_and_move_are_durable_before_ok(tmp_path: Path) -> None:
    """COPY links the message into a new folder (Kept), MOVE renames it into Trash: the target
    folder's directory fsynced after the link or rename, before the OK."""
    config, port = await prepare_host(tmp_path / "host", PLAIN_ON_LOOPBACK, LISTENERS)
    async with traced_server(config) as server:
        talk = await session(port)
        assert (await talk.append("INBOX", b"Subject: one\r\n\r\nOne.\r\n", r"(\Seen)")).ok
        assert (await talk.command("CREATE Kept")).ok
        assert (await talk.command("SELECT INBOX")).ok
        copied = await talk.command("UID COPY 1 Kept")
        assert copied.ok, copied.tagged
        before = folder_files(config, "Trash")
        moved = await talk.command("UID MOVE 1 Trash")
        assert moved.ok, moved.tagged
        await talk.close()
        trace = await server.stop()
    [archived] = folder_files(config, "Kept")
    [trashed] = folder_files(config, "Trash") - before
    trace.assert_stored(archived, trace.reply(copied.tagged), written=False)
    move_reply = trace.reply(moved.tagged)
    trace.assert_stored(trashed, move_reply, written=False)
    assert re.search(rb"OK", moved.tagged)


async def test_multiappend_in_a_worker_process_is_durable_before_ok(tmp_path: Path) -> None:
    """`[server] workers = 2`: IMAP is served by worker processes (strace follows
    them); one MULTIAPPEND (RFC 3502) of three messages gets one OK, after all three."""
    settings = {**PLAIN_ON_LOOPBACK, "# workers = 1": "workers = 2"}
    config, port = await prepare_host(tmp_path / "host", settings, LISTENERS)
    async with traced_server(config) as server:
        talk = await session(port)
        literals = b"".join(
            b" {%d+}\r\n%s" % (len(body), body)
            for body in (b"Subject: m%d\r\n\r\nBody %d.\r\n" % (n, n) for n in range(3))
        )
        await talk.send(b"multi APPEND INBOX" + literals + b"\r\n")
        reply = await talk.reply("multi")
        assert reply.ok, reply.tagged
        await talk.close()
        trace = await server.stop()
    files = folder_files(config)
    assert len(files) == 3
    ok = trace.reply(reply.tagged)
    for path in files:
        trace.assert_stored(path, ok)
    assert ok.pid != trace.calls[0].pid, "the OK came from the main thread, not a worker"
