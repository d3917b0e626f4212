"""The legacy members' mail, written by the real Dovecot over IMAP and POP3 as their
clients did over the years, and what a client sees of it on either server.

`fill_jdoe` and `fill_asmith` talk to Dovecot (tests/support/legacy_dovecot.py): APPEND
with flags, keywords and internal dates, expunges (so UIDs have gaps and UIDNEXT is past
the last message), a nested folder whose parent was never created (`Lists.Python`), a
non-ASCII folder (`Entwürfe`, modified UTF-7 on the wire and on disk), subscriptions, and
a POP3 session that reads one message and deletes another.

`imap_view` and `pop3_view` are what a client sees, read the same way from Dovecot and
from Mailroom, so that the two can be compared as a whole: folders and their hierarchy
attributes, LSUB lines' attributes, and per folder UIDVALIDITY, UIDNEXT and every message's
UID, flags and keywords, RFC822.SIZE, INTERNALDATE and a digest of its bytes; the POP3
UIDL and LIST answers. Everything is read with EXAMINE and BODY.PEEK: looking changes
nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tests.support.imap_talk import ImapTalk
from tests.support.pop3_talk import Pop3Talk

PASSWORD = "secret"  # the legacy documentation's example password of its `$1$` hash

ENTWUERFE = "Entw&APw-rfe"  # "Entwürfe" in modified UTF-7 (RFC 3501 §5.1.3)

# Attributes of a LIST line that are about the hierarchy (RFC 3501, RFC 3348, RFC 5258);
# SPECIAL-USE ones (RFC 6154), which Mailroom adds from `[mailbox.special_use]`, are not.
HIERARCHY_ATTRIBUTES = frozenset(
    {"\\noselect", "\\noinferiors", "\\haschildren", "\\hasnochildren", "\\nonexistent"}
)

_LIST = re.compile(r'^(LIST|LSUB) \(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") (.+)$')
_BODY = re.compile(rb"BODY\[\] \{(\d+)\}\r\n")


def message(subject: str, number: int) -> bytes:
    """A message as a client sends it (CRLF line ends)."""
    return (
        f"From: Member {number} <member{number}@outside.example>\r\n"
        f"To: someone@cacert.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <legacy-{number}@outside.example>\r\n"
        f"Date: Tue, 3 Mar 2015 10:0{number % 10}:00 +0100\r\n\r\n"
        f"Body of message {number}.\r\n.leading dot\r\n"
    ).encode()


# jdoe's INBOX: (flags and keywords, internal date); numbers 2 and 5 are expunged later.
JDOE_INBOX = [
    ("(\\Seen)", "01-Mar-2015 09:00:00 +0100"),
    ("(\\Seen \\Answered $Forwarded)", "02-Mar-2015 10:30:00 +0100"),
    ("(\\Flagged Projekt)", "03-Mar-2015 11:00:00 +0100"),
    ("()", "04-Mar-2015 12:00:00 +0000"),
    ("(\\Seen \\Deleted)", "05-Mar-2015 13:00:00 +0100"),
    ("(\\Seen $Label1 Projekt $MDNSent)", "06-Mar-2015 14:15:16 -0500"),
]


async def dovecot_login(port: int, user: str) -> ImapTalk:
    talk = await ImapTalk.open(port)
    reply = await talk.command(f'LOGIN {user} "{PASSWORD}"')
    assert reply.ok, reply.tagged
    return talk


async def _ok(talk: ImapTalk, command: str) -> None:
    reply = await talk.command(command)
    assert reply.ok, (command, reply.tagged)


async def _append(talk: ImapTalk, folder: str, data: bytes, arguments: str) -> None:
    reply = await talk.append(folder, data, arguments)
    assert reply.ok, (folder, arguments, reply.tagged)


async def fill_jdoe(imap_port: int) -> None:
    """jdoe's years of IMAP: folders, subscriptions, flagged mail, expunges."""
    talk = await dovecot_login(imap_port, "jdoe")
    try:
        for folder in (f'"{ENTWUERFE}"', "Lists.Python", "Gesendet"):
            await _ok(talk, f"CREATE {folder}")
        for folder in ("INBOX", f'"{ENTWUERFE}"', "Lists.Python"):  # not Gesendet
            await _ok(talk, f"SUBSCRIBE {folder}")
        for number, (flags, date) in enumerate(JDOE_INBOX, 1):
            await _append(talk, "INBOX", message(f"inbox {number}", number), f'{flags} "{date}"')
        await _ok(talk, "SELECT INBOX")
        await _ok(talk, "UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        await _ok(talk, "EXPUNGE")  # UIDs 2 and 5 gone
        for number in range(1, 4):
            keyword = "$Label1" if number == 1 else "Python"
            await _append(
                talk,
                "Lists.Python",
                message(f"python {number}", 10 + number),
                f'(\\Seen {keyword}) "1{number}-Jan-2016 08:00:00 +0100"',
            )
        await _ok(talk, "SELECT Lists.Python")
        await _ok(talk, "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
        await _ok(talk, "CLOSE")  # the last one expunged: UIDNEXT 4, two messages
        await _append(
            talk, f'"{ENTWUERFE}"', message("draft", 20), '(\\Draft) "20-Feb-2016 20:00:00 +0100"'
        )
        await _append(
            talk, "Gesendet", message("sent", 21), '(\\Seen) "21-Feb-2016 21:00:00 +0100"'
        )
        await _ok(talk, "LOGOUT")
    finally:
        await talk.close()


async def fill_asmith(imap_port: int, pop3_port: int) -> None:
    """asmith reads mail over POP3 only: four messages arrive (APPEND stands in for the
    LDA), a POP3 session lists their UIDLs, reads the first and deletes the second."""
    talk = await dovecot_login(imap_port, "asmith")
    try:
        for number in range(1, 5):
            await _append(
                talk,
                "INBOX",
                message(f"pop {number}", 30 + number),
                f'() "0{number}-Apr-2017 07:00:00 +0200"',
            )
        await _ok(talk, "LOGOUT")
    finally:
        await talk.close()
    pop3 = await Pop3Talk.open(pop3_port)
    try:
        assert (await pop3.command("USER asmith")).startswith(b"+OK")
        assert (await pop3.command(f"PASS {PASSWORD}")).startswith(b"+OK")
        status, uidls = await pop3.multiline("UIDL")
        assert status.startswith(b"+OK") and len(uidls) == 4, uidls
        status, _ = await pop3.multiline("RETR 1")
        assert status.startswith(b"+OK"), status
        assert (await pop3.command("DELE 2")).startswith(b"+OK")
        assert (await pop3.command("QUIT")).startswith(b"+OK")
    finally:
        await pop3.close()


@dataclass(frozen=True)
class MessageView:
    uid: int
    flags: frozenset[str]
    """Flags and keywords, without \\Recent (which only says who looked first)."""
    size: int
    internaldate: str
    digest: str


@dataclass(frozen=True)
class FolderView:
    uidvalidity: int
    uidnext: int
    messages: tuple[MessageView, ...]


@dataclass(frozen=True)
class ImapView:
    folders: tuple[tuple[str, frozenset[str]], ...]
    """Each folder's name (as on the wire) and its hierarchy attributes, sorted."""
    lsub: tuple[tuple[str, str, str], ...]
    """Each LSUB line's attributes and separator as written, and name (sorted). A name
    is compared unquoted: Mailroom quotes every name, Dovecot only those that need it;
    both are the same astring (RFC 3501 §4.3)."""
    contents: tuple[tuple[str, FolderView], ...]
    """Each selectable folder's view, by name."""


def _name(raw: str) -> str:
    if raw.startswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


async def imap_view(talk: ImapTalk) -> ImapView:
    """Everything a client sees of the logged-in account (module docstring)."""
    folders: list[tuple[str, frozenset[str]]] = []
    selectable: list[str] = []
    for line in (await talk.command('LIST "" "*"')).lines("LIST"):
        match = _LIST.match(line)
        assert match is not None, line
        attributes = frozenset(each.lower() for each in match.group(2).split())
        name = _name(match.group(4))
        folders.append((name, attributes & HIERARCHY_ATTRIBUTES))
        if "\\noselect" not in attributes and "\\nonexistent" not in attributes:
            selectable.append(name)
    lsub = []
    for line in (await talk.command('LSUB "" "*"')).lines("LSUB"):
        match = _LIST.match(line)
        assert match is not None, line
        lsub.append((match.group(2), match.group(3), _name(match.group(4))))
    contents = [(name, await _folder_view(talk, name)) for name in sorted(selectable)]
    return ImapView(tuple(sorted(folders)), tuple(sorted(lsub)), tuple(contents))


async def _folder_view(talk: ImapTalk, name: str) -> FolderView:
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    examined = await talk.command(f"EXAMINE {quoted}")
    assert examined.ok, (name, examined.tagged)
    text = examined.text()
    uidvalidity = int(re.search(r"\[UIDVALIDITY (\d+)\]", text).group(1))  # type: ignore[union-attr]
    uidnext = int(re.search(r"\[UIDNEXT (\d+)\]", text).group(1))  # type: ignore[union-attr]
    exists = int(re.search(r"^\* (\d+) EXISTS$", text, re.M).group(1))  # type: ignore[union-attr]
    if exists == 0:
        return FolderView(uidvalidity, uidnext, ())
    meta = await talk.command("UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert meta.ok, meta.tagged
    bodies = await talk.command("UID FETCH 1:* (UID BODY.PEEK[])")
    assert bodies.ok, bodies.tagged
    digests = {}
    for line in bodies.untagged:
        found = _BODY.search(line)
        if found is None:
            continue
        start, size = found.end(), int(found.group(1))
        rest = line[: found.start()] + line[start + size :]
        uid = int(re.search(rb"UID (\d+)", rest).group(1))  # type: ignore[union-attr]
        digests[uid] = hashlib.sha256(line[start : start + size]).hexdigest()
    messages = []
    for line in meta.lines(""):
        if " FETCH " not in line:
            continue
        uid = int(re.search(r"UID (\d+)", line).group(1))  # type: ignore[union-attr]
        flags = re.search(r"FLAGS \(([^)]*)\)", line).group(1).split()  # type: ignore[union-attr]
        size = int(re.search(r"RFC822\.SIZE (\d+)", line).group(1))  # type: ignore[union-attr]
        date = re.search(r'INTERNALDATE "([^"]+)"', line).group(1)  # type: ignore[union-attr]
        kept = frozenset(flag for flag in flags if flag.lower() != "\\recent")
        messages.append(MessageView(uid, kept, size, date, digests[uid]))
    assert len(messages) == exists, (name, exists, meta.untagged)
    return FolderView(uidvalidity, uidnext, tuple(sorted(messages, key=lambda m: m.uid)))


async def pop3_view(talk: Pop3Talk, user: str) -> tuple[list[bytes], list[bytes]]:
    """The UIDL and LIST answers of `user`'s maildrop (USER/PASS, then QUIT with no
    DELE: nothing changes)."""
    assert (await talk.command(f"USER {user}")).startswith(b"+OK")
    reply = await talk.command(f"PASS {PASSWORD}")
    assert reply.startswith(b"+OK"), reply
    status, uidls = await talk.multiline("UIDL")
    assert status.startswith(b"+OK"), status
    status, sizes = await talk.multiline("LIST")
    assert status.startswith(b"+OK"), status
    assert (await talk.command("QUIT")).startswith(b"+OK")
    return uidls, sizes


def differences(expected: ImapView, seen: ImapView) -> list[str]:
    """What differs between two views, one line per difference (empty: the same), so
    that a failing comparison says where."""
    found = []
    if expected.folders != seen.folders:
        found.append(f"folders: {expected.folders} != {seen.folders}")
    if expected.lsub != seen.lsub:
        found.append(f"LSUB: {expected.lsub} != {seen.lsub}")
    theirs = dict(seen.contents)
    for name, folder in expected.contents:
        other = theirs.pop(name, None)
        if other is None:
            found.append(f"{name}: missing")
            continue
        for what in ("uidvalidity", "uidnext"):
            if getattr(folder, what) != getattr(other, what):
                found.append(f"{name} {what}: {getattr(folder, what)} != {getattr(other, what)}")
        messages = {message.uid: message for message in other.messages}
        for message in folder.messages:
            match = messages.pop(message.uid, None)
            if match != message:
                found.append(f"{name} UID {message.uid}: {message} != {match}")
        found.extend(f"{name} UID {uid}: not expected: {each}" for uid, each in messages.items())
    found.extend(f"{name}: not expected" for name in theirs)
    return found
