"""An APPEND answered OK is on stable storage: the server is killed with SIGKILL while
clients append, started again, and every acknowledged message is there with the UID
its APPENDUID promised."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, client_tls
from tests.support.server_process import prepare_host, start_server

CLIENTS = 4
ACKED_BEFORE_KILL = 40
LISTENERS = (ListenerExample("imaps", "imap", 0, "implicit"),)


async def appender(port: int, number: int, acked: dict[str, int], stop: asyncio.Event) -> None:
    try:
        talk = await ImapTalk.open(port, tls=client_tls())
        assert (await talk.command(f'LOGIN alice@example.test "{PASSWORD}"')).ok
        count = 0
        while not stop.is_set():
            token = f"m{number}-{count}"
            count += 1
            data = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
            reply = await talk.append("INBOX", data)
            match = re.search(rb"\[APPENDUID \d+ (\d+)\]", reply.tagged)
            if reply.ok and match:
                acked[token] = int(match.group(1))
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        return  # the server was killed: what was not acknowledged may be lost


async def test_every_acknowledged_append_survives_sigkill(tmp_path: Path) -> None:
    config_path, port = await prepare_host(tmp_path / "host", listeners=LISTENERS)
    server = await start_server(config_path)
    acked: dict[str, int] = {}
    stop = asyncio.Event()
    clients = [asyncio.create_task(appender(port, n, acked, stop)) for n in range(CLIENTS)]
    try:
        async with asyncio.timeout(120):
            while len(acked) < ACKED_BEFORE_KILL:
                await asyncio.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # in the middle of appends, without warning
        await server.wait()
    finally:
        stop.set()
        with contextlib.suppress(ProcessLookupError):
            server.kill()
        await asyncio.gather(*clients)
    promised = dict(acked)
    assert len(promised) >= ACKED_BEFORE_KILL

    server = await start_server(config_path)
    try:
        talk = await ImapTalk.logged_in(port)
        assert (await talk.command("SELECT INBOX")).ok
        reply = await talk.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        stored = {}
        for line in reply.untagged:
            uid = re.search(rb"UID (\d+)", line)
            subject = re.search(rb"Subject: (m\d+-\d+)", line)
            if uid and subject:
                stored[subject.group(1).decode()] = int(uid.group(1))
        lost = {token for token in promised if token not in stored}
        assert not lost, f"acknowledged but lost: {sorted(lost)}"
        moved = {t: (promised[t], stored[t]) for t in promised if stored[t] != promised[t]}
        assert not moved, f"UIDs changed after the crash: {moved}"
        await talk.close()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()


MESSAGES_PER_FOLDER = 150
ACKED_TRANSFERS = 25


async def subjects_by_folder(talk: ImapTalk, folders: list[str]) -> dict[str, list[str]]:
    """The subject tokens of every message in each folder (a token may repeat)."""
    found: dict[str, list[str]] = {}
    for folder in folders:
        assert (await talk.command(f"SELECT {folder}")).ok
        reply = await talk.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found[folder] = [
            match.group(1).decode()
            for line in reply.untagged
            if (match := re.search(rb"Subject: ([mc]\d+)", line))
        ]
    return found


async def transfer_one_by_one(
    port: int, command: str, folder: str, uids: dict[str, int], acked: set[str]
) -> None:
    """`UID MOVE` or `UID COPY` each message of `folder` to Archive or Drafts, one
    command per message, until the server dies."""
    target = "Archive" if command == "MOVE" else "Drafts"
    try:
        talk = await ImapTalk.logged_in(port)
        assert (await talk.command(f"SELECT {folder}")).ok
        for token, uid in uids.items():
            if (await talk.command(f"UID {command} {uid} {target}")).ok:
                acked.add(token)
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        return  # killed: an unanswered command may or may not have happened


async def test_moves_and_copies_survive_sigkill_whole(tmp_path: Path) -> None:
    """Killed in the middle of MOVEs and COPYs, the server loses no message and
    duplicates none: each moved message is in its source or its target, never both
    nor neither; every acknowledged MOVE and COPY is there after the restart."""
    config_path, port = await prepare_host(tmp_path / "host", listeners=LISTENERS)
    server = await start_server(config_path)
    uids: dict[str, dict[str, int]] = {"INBOX": {}, "Sent": {}}
    try:
        talk = await ImapTalk.logged_in(port)
        for folder, letter in (("INBOX", "m"), ("Sent", "c")):
            for number in range(MESSAGES_PER_FOLDER):
                token = f"{letter}{number}"
                data = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
                reply = await talk.append(folder, data, "(\\Seen)" if number % 2 else "")
                match = re.search(rb"\[APPENDUID \d+ (\d+)\]", reply.tagged)
                assert reply.ok and match, reply.tagged
                uids[folder][token] = int(match.group(1))
        await talk.close()
        moved: set[str] = set()
        copied: set[str] = set()
        clients = [
            asyncio.create_task(transfer_one_by_one(port, "MOVE", "INBOX", uids["INBOX"], moved)),
            asyncio.create_task(transfer_one_by_one(port, "COPY", "Sent", uids["Sent"], copied)),
        ]
        try:
            async with asyncio.timeout(120):
                while min(len(moved), len(copied)) < ACKED_TRANSFERS:
                    await asyncio.sleep(0.005)
            os.kill(server.pid, signal.SIGKILL)  # in the middle of transfers
            await server.wait()
        finally:
            await asyncio.gather(*clients)
    finally:
        with contextlib.suppress(ProcessLookupError):
            server.kill()
    promised_moves, promised_copies = set(moved), set(copied)
    assert len(promised_moves) < MESSAGES_PER_FOLDER, "every MOVE finished before the kill"

    server = await start_server(config_path)
    try:
        talk = await ImapTalk.logged_in(port)
        found = await subjects_by_folder(talk, ["INBOX", "Archive", "Sent", "Drafts"])
        await talk.close()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
    both = sorted(found["INBOX"] + found["Archive"])
    assert both == sorted(uids["INBOX"]), "a moved message was lost or is in two places"
    assert promised_moves <= set(found["Archive"])
    assert sorted(found["Sent"]) == sorted(uids["Sent"])
    assert promised_copies <= set(found["Drafts"])
    assert len(found["Drafts"]) == len(set(found["Drafts"])), "a message was copied twice"


async def test_flags_and_modseqs_survive_sigkill_right_after_a_store(tmp_path: Path) -> None:
    """The index writes a STORE's rows after the answer: killed right after it, the
    server still has the flags (they are in the file names), and no modseq goes
    backwards (RFC 7162 §3.1.2.2): HIGHESTMODSEQ is at least the last one reported,
    and the next change gets a higher one."""
    config_path, port = await prepare_host(tmp_path / "host", listeners=LISTENERS)
    server = await start_server(config_path)
    try:
        talk = await ImapTalk.logged_in(port)
        for number in range(200):
            data = f"Subject: s{number}\r\n\r\nBody {number}.\r\n".encode()
            assert (await talk.append("INBOX", data)).ok
        assert (await talk.command("ENABLE CONDSTORE")).ok
        assert (await talk.command("SELECT INBOX")).ok
        reported = 0
        for round_number in range(6):
            # Each answer is read, then at once the next command goes out: the last
            # answer is followed by the kill, with its rows likely still queued.
            mode = "+" if round_number % 2 == 0 else "-"
            reply = await talk.command(f"STORE 1:* {mode}FLAGS (\\Seen $Label{round_number})")
            assert reply.ok, reply.tagged
            modseqs = [int(m) for m in re.findall(rb"MODSEQ \((\d+)\)", b"".join(reply.untagged))]
            assert len(modseqs) == 200
            reported = max(reported, *modseqs)
        os.kill(server.pid, signal.SIGKILL)
        await server.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            server.kill()

    server = await start_server(config_path)
    try:
        talk = await ImapTalk.logged_in(port)
        assert (await talk.command("ENABLE CONDSTORE")).ok
        select = await talk.command("SELECT INBOX")
        highest = re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(select.untagged))
        assert highest is not None and int(highest.group(1)) >= reported
        reply = await talk.command("FETCH 1:* (FLAGS)")
        flags = [line for line in reply.untagged if b" FETCH " in line]
        assert len(flags) == 200
        # The last STORE removed \Seen (and a $Label5 no message had); the one before
        # added $Label4.
        assert all(b"\\Seen" not in line and b"$Label4" in line for line in flags), flags[:3]
        after = await talk.command("STORE 1 +FLAGS (\\Flagged)")
        (modseq,) = re.findall(rb"MODSEQ \((\d+)\)", b"".join(after.untagged))
        assert int(modseq) > reported
        await talk.close()
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
