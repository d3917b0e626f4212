"""Dovecot's `subscriptions` file: which folders a member subscribed to (LSUB, LIST).

The file sits in the Maildir's root. Dovecot 2.3 (src/lib-storage/list/
subscription-file.c) reads two versions:
- version 1, the old one: one name per line, levels joined by the
  storage's hierarchy separator ("." for Maildir++): `Lists.Python\\n`;
- version 2: the header "V\\t2\\n\\n", then one name per line with its
  levels separated by a TAB, each level tab-escaped (\\001 → \\0011,
  TAB → \\001t, CR → \\001r, LF → \\001n), so the file does not depend on
  the configured separator: `Lists\\tPython\\n`.
Dovecot keeps the version of the file it finds. We do the same, and start
a new file in version 2, which Dovecot 2.3 reads and which works whichever
separator the server is configured with. Each level is written in modified
UTF-7 (RFC 3501 §5.1.3), as Dovecot 2.3 with its default settings writes it
(`mailbox_list_utf8 = no`; the same storage name as the folder's directory,
e.g. "Entw&APw-rfe"; seen with Debian's 2.3.19 IMAP SUBSCRIBE). A level is
read in either form: modified UTF-7 when it is valid modified UTF-7 with an
encoded part or "&-", raw UTF-8 otherwise (written by Mailroom before it
matched Dovecot, or by a Dovecot with `mailbox_list_utf8 = yes`).

Changes take the dotlock `subscriptions.lock` and replace the file
atomically, as Dovecot does (uidlist.py's DotLock).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mailroom.store import mutf7
from mailroom.store.uidlist import LOCK_WAIT_SECONDS, DotLock

FILE_NAME = "subscriptions"
V2_HEADER = b"V\t2\n\n"
_ESCAPES = {"\x01": "\x011", "\t": "\x01t", "\r": "\x01r", "\n": "\x01n"}
_UNESCAPES = {"1": "\x01", "t": "\t", "r": "\r", "n": "\n"}

Levels = tuple[str, ...]


def parse_subscriptions(data: bytes) -> tuple[int, list[Levels]]:
    """(version, subscribed names as level tuples) of a file's contents."""
    version, lines = _lines(data)
    return version, [levels for _, levels in lines]


def format_line(version: int, levels: Levels) -> str:
    """The file's line for `levels`, each level in modified UTF-7 as Dovecot writes it."""
    encoded = [mutf7.encode(level) for level in levels]
    if version >= 2:
        return "\t".join(_escape(level) for level in encoded)
    return ".".join(encoded)


def read_subscriptions(root: Path) -> list[Levels]:
    try:
        data = (root / FILE_NAME).read_bytes()
    except FileNotFoundError:
        return []
    return parse_subscriptions(data)[1]


def change_subscriptions(
    root: Path,
    *,
    add: Sequence[Levels] = (),
    remove: Sequence[Levels] = (),
    wait: float = LOCK_WAIT_SECONDS,
) -> bool:
    """Subscribe `add` and unsubscribe `remove` under the lock; whether the file changed.

    Lines not concerned are written back as they were, as Dovecot does.
    """
    with DotLock(root / FILE_NAME, wait=wait) as lock:
        try:
            version, lines = _lines((root / FILE_NAME).read_bytes())
        except FileNotFoundError:
            version, lines = 2, []
        kept = [(raw, levels) for raw, levels in lines if levels not in remove]
        present = {levels for _, levels in kept}
        for levels in add:
            if levels not in present:
                kept.append((format_line(version, levels), levels))
                present.add(levels)
        if kept == lines:
            return False
        header = V2_HEADER.decode() if version >= 2 else ""
        text = header + "".join(raw + "\n" for raw, _ in kept)
        lock.replace(text.encode("utf-8", "surrogateescape"))
        return True


def _lines(data: bytes) -> tuple[int, list[tuple[str, Levels]]]:
    version = 1
    if data.startswith(V2_HEADER):
        version = 2
        data = data[len(V2_HEADER) :]
    lines: list[tuple[str, Levels]] = []
    for raw in data.decode("utf-8", "surrogateescape").split("\n"):
        if not raw:
            continue
        if version == 2:
            levels = tuple(_unescape(level) for level in raw.split("\t"))
        else:
            levels = tuple(raw.split("."))
        lines.append((raw, tuple(_maybe_mutf7(level) for level in levels)))
    return version, lines


def _escape(level: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in level)


def _unescape(level: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(level):
        character = level[index]
        if character == "\x01" and index + 1 < len(level):
            out.append(_UNESCAPES.get(level[index + 1], level[index + 1]))
            index += 2
            continue
        out.append(character)
        index += 1
    return "".join(out)


def _maybe_mutf7(level: str) -> str:
    if "&" not in level or not level.isascii():
        return level
    try:
        return mutf7.decode(level)
    except ValueError:
        return level
