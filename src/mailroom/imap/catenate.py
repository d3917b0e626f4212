"""What APPEND stores for each message: the literal as sent, a literal8 with its binary
parts made storable (RFC 3516 §4.4), or a message put together from CATENATE's parts
(RFC 4469): text the client sends and messages or parts of the user's own mailboxes
named by IMAP URLs (urls.py), read through the store.

Nothing is written here: the handler gives every message of the command to the store's
one write path at once (`Mailbox.append_many`), so that an APPEND, with MULTIAPPEND and
CATENATE, stores all its messages or none. A URL that names nothing answers
`NO [BADURL url]`, a message that grows over the APPEND limit `NO [TOOBIG]` (the limit of
a literal, APPENDLIMIT), both as Dovecot words them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mailroom.imap import responses
from mailroom.imap.commands import AppendMessage, CatenatePart, CatenateText
from mailroom.imap.context import SessionContext
from mailroom.imap.responses import STORE_ERRORS, ImapError
from mailroom.imap.sections import Section, apply_partial, find_part, section_data
from mailroom.imap.urls import MessageUrl, UrlError, parse_url
from mailroom.message import encode_binary_parts, parse_message
from mailroom.store import Mailbox, MessageGone

IN_MEMORY = 1024 * 1024
"""A composed message up to this size is kept in memory; a larger one goes to a file."""
CHUNK = 256 * 1024

Source = bytes | Path


class Scratch:
    """Files written for the messages of one command, removed once it is done."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.files: list[Path] = []

    def new_file(self) -> Path:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="mailroom-append.", dir=self.directory)
        os.close(handle)
        path = Path(name)
        self.files.append(path)
        return path

    def remove(self) -> None:
        for path in self.files:
            with contextlib.suppress(OSError):
                path.unlink()
        self.files.clear()


async def message_source(
    session: SessionContext, message: AppendMessage, scratch: Scratch
) -> Source:
    """The octets to store for one message of APPEND."""
    if message.catenate is not None:
        return await _catenated(session, message.catenate, scratch)
    data = message.data
    if not isinstance(data, bytes | Path):
        raise responses.bad("Invalid message data.")
    if message.binary:
        return await asyncio.to_thread(_storable, data)
    return data


def _storable(data: Source) -> Source:
    """A literal8 message with its binary parts base64-encoded (message/binary_parts.py).
    A large one is read whole for that (bounded by APPENDLIMIT) and rewritten in place:
    the file is the session's, removed after the command."""
    if isinstance(data, bytes):
        return encode_binary_parts(data)
    octets = data.read_bytes()
    encoded = encode_binary_parts(octets)
    if encoded is not octets:
        data.write_bytes(encoded)
    return data


async def _catenated(
    session: SessionContext, parts: Sequence[CatenatePart], scratch: Scratch
) -> Source:
    """RFC 4469 §5: the parts in order, each TEXT as sent, each URL resolved. As Dovecot:
    a literal8 TEXT makes the message binary only when it is the first part; one after
    another kind of first part is refused with UNKNOWN-CTE."""
    first = parts[0]
    binary = isinstance(first, CatenateText) and first.binary
    limit = session.settings.max_message_size
    pieces: list[Source] = []
    total = 0
    for part in parts:
        if isinstance(part, CatenateText):
            if part.binary and not binary:
                raise responses.no(
                    "Binary input allowed only when the first part is binary.", "UNKNOWN-CTE"
                )
            piece = part.data
            if not isinstance(piece, bytes | Path):
                raise responses.bad("Invalid message data.")
        else:
            piece = await resolve_url(session, part.url)
        total += len(piece) if isinstance(piece, bytes) else piece.stat().st_size
        if total > limit:
            raise responses.no("Composed message grows too big.", "TOOBIG")
        pieces.append(piece)
    data = await asyncio.to_thread(_joined, pieces, total, scratch)
    if binary:
        data = await asyncio.to_thread(_storable, data)
    return data


def _joined(pieces: list[Source], total: int, scratch: Scratch) -> Source:
    if total <= IN_MEMORY and all(isinstance(piece, bytes) for piece in pieces):
        return b"".join(piece for piece in pieces if isinstance(piece, bytes))
    path = scratch.new_file()
    with path.open("wb") as out:
        for piece in pieces:
            if isinstance(piece, bytes):
                out.write(piece)
                continue
            with piece.open("rb") as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
    return path


# -- URLs --------------------------------------------------------------------------------


async def resolve_url(session: SessionContext, text: str) -> bytes:
    """The octets a CATENATE URL names, as BODY.PEEK[section]<partial> would give them."""
    try:
        url = parse_url(text)
    except UrlError as error:
        raise bad_url(text, str(error)) from None
    if url.mailbox is None:
        if session.selected is None:
            raise bad_url(text, "No mailbox selected")
        data = await _read(session.selected.mailbox, url, text)
    else:
        assert session.account is not None  # APPEND needs a login
        try:
            mailbox = await session.account.open(url.mailbox)
        except STORE_ERRORS:
            raise bad_url(text, "Mailbox doesn't exist") from None
        try:
            await mailbox.sync()
            data = await _read(mailbox, url, text)
        except STORE_ERRORS:
            raise bad_url(text, "Mailbox can't be read") from None
        finally:
            await mailbox.close()
    if url.section != Section():
        root = parse_message(data)
        if find_part(root, url.section.part) is None:
            raise bad_url(text, "Section not found")
        data = section_data(data, root, url.section)
    return apply_partial(data, url.partial)


async def _read(mailbox: Mailbox, url: MessageUrl, text: str) -> bytes:
    if url.uidvalidity is not None and url.uidvalidity != mailbox.uidvalidity:
        raise bad_url(text, "Invalid UIDVALIDITY")
    try:
        return await mailbox.read(url.uid)
    except MessageGone:
        raise bad_url(text, "Message not found") from None


def bad_url(url: str, text: str) -> ImapError:
    """`NO [BADURL url] text.` (RFC 4469 §6: the URL as text without "]")."""
    shown = "".join(c if " " < c <= "~" and c != "]" else f"%{ord(c):02X}" for c in url[:1000])
    return responses.no(f"{text}.", f"BADURL {shown}")
