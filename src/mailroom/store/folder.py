"""Reading one Maildir folder the way Dovecot does: messages by UID, with flags.

This is the store's reading side for IMAP and POP3. `MaildirFolder.scan()`
lists `new/` and `cur/`, gives files that have no UID yet the next ones
(written to `dovecot-uidlist` under its lock, so Dovecot and we agree), and
returns the messages in UID order. Flag changes are renames of the file, as
in every Maildir; the uidlist only holds base names, so it does not change.

A file name is `<base>[:2,<flags>]`. The flag letters (Maildir spec, and
Dovecot's maildir-filename-flags.c):
    D \\Draft   F \\Flagged   R \\Answered   S \\Seen   T \\Deleted
    P "passed" (forwarded): no IMAP flag in Dovecot, but kept on rename
    a..z keywords, by index in `dovecot-keywords` (keywords.py)
Any other letter we do not own is kept on rename too, as Dovecot keeps it.
Letters are written sorted in ASCII order, as Dovecot writes them
(`:2,FRbc` in the fixture).

What is left to the IMAP session: moving new/ to cur/ (`move_to_cur`, when
a session has seen the message as \\Recent), \\Recent itself, and
notifications. Names that cannot be messages (dot files, names with a
newline, which the uidlist cannot hold) are skipped with a log line; hostile
names never make `scan()` fail.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from mailroom.store import keywords as keyword_file
from mailroom.store.keywords import Keywords, KeywordsError
from mailroom.store.quota import message_size
from mailroom.store.uidlist import (
    FILE_NAME as UIDLIST_FILE_NAME,
)
from mailroom.store.uidlist import (
    LOCK_WAIT_SECONDS,
    UidList,
    UidListError,
    read_uidlist,
    uidlist_lock,
    write_uidlist,
)

log = logging.getLogger(__name__)

INFO_SEPARATOR = ":2,"
SYSTEM_FLAGS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
"""Maildir letter → IMAP system flag (Maildir spec; Dovecot maps exactly these)."""
LETTER_OF_FLAG = {flag: letter for letter, flag in SYSTEM_FLAGS.items()}
_VIRTUAL_SIZE_IN_NAME = re.compile(r",W=(\d{1,19})(?=[,:]|$)")


class FolderError(Exception):
    """Something went wrong with a folder's messages; the message says what."""


class MessageGone(FolderError):
    """The message was expunged (its file is gone), by us or by another process."""

    def __init__(self, uid: int) -> None:
        super().__init__(f"message UID {uid} has been expunged")
        self.uid = uid


@dataclass(frozen=True)
class MaildirMessage:
    """One message as a scan found it. Frozen: a flag change returns a new one."""

    uid: int
    base_name: str
    """The file name without `:2,<flags>`: what the uidlist records."""
    path: Path
    size: int
    """Bytes on disk (LF line endings): `,S=` from the name, else stat()."""
    virtual_size: int | None
    """Bytes with CRLF line endings (`,W=` or the uidlist's W), if known."""
    flags: frozenset[str]
    """IMAP system flags: \\Draft \\Flagged \\Answered \\Seen \\Deleted."""
    keywords: frozenset[str]
    recent: bool
    """The file was in new/: no IMAP session has seen it yet."""
    info: str
    """The raw flag letters after `:2,` (including ones we do not map, like P)."""


class MaildirFolder:
    """One Maildir folder (the INBOX root or a `.Folder` directory)."""

    def __init__(self, path: Path, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.path = path
        self.lock_wait = lock_wait

    def __repr__(self) -> str:
        return f"MaildirFolder({str(self.path)!r})"

    @property
    def uidvalidity(self) -> int:
        """The folder's UIDVALIDITY (a scan creates it if there is none yet)."""
        uidlist = self._read_uidlist()
        if uidlist is None:
            self.scan()
            uidlist = self._read_uidlist()
        if uidlist is None:
            raise FolderError(f"{self.path}: could not create {UIDLIST_FILE_NAME}")
        return uidlist.uidvalidity

    def scan(self) -> list[MaildirMessage]:
        """The folder's messages in UID order; files new to the uidlist get UIDs.

        Raises LockTimeout if another process holds the uidlist lock for
        longer than `lock_wait` seconds while there are files to number.
        """
        files = self._list()
        uidlist = self._read_uidlist()
        if uidlist is None or any(uidlist.uid_of(base) is None for base in files):
            uidlist = self._assign_uids()
            files = self._list()
        keywords = self._keywords()
        messages = []
        for base, (directory, name) in files.items():
            record = uidlist.record_of(base)
            if record is None:
                # Arrived after the write above; the next scan numbers it.
                continue
            message = self._message(record.uid, base, directory, name, keywords)
            if message is None:
                continue
            vsize = record.extension("W") or ""
            if message.virtual_size is None and vsize.isascii() and vsize.isdigit():
                message = replace(message, virtual_size=int(vsize))
            messages.append(message)
        messages.sort(key=lambda message: message.uid)
        return messages

    def move_to_cur(self, message: MaildirMessage) -> MaildirMessage:
        """Move a message from new/ to cur/ (as `<name>:2,`), keeping its name."""
        if not message.recent:
            return message
        try:
            return self._rename(message, message.info, recent=False)
        except FileNotFoundError:
            # Another session moved it first (or expunged it: MessageGone).
            current = self._find(message.uid)
            return self.move_to_cur(current) if current.recent else current

    def set_flags(
        self,
        message: MaildirMessage,
        flags: Iterable[str],
        keywords: Iterable[str] = (),
    ) -> MaildirMessage:
        """Give the message exactly these system flags and keywords (a rename into cur/).

        Letters we do not own (P, unknown ones) are kept. New keywords get a
        letter in `dovecot-keywords` first (TooManyKeywords past 26).
        """
        wanted_flags = frozenset(flags)
        unknown = wanted_flags - LETTER_OF_FLAG.keys()
        if unknown:
            raise FolderError(f"not a Maildir system flag: {', '.join(sorted(unknown))}")
        wanted_keywords = frozenset(keywords)
        mapping = Keywords()
        if wanted_keywords:
            mapping = keyword_file.add_keywords(self.path, wanted_keywords, wait=self.lock_wait)
        letters = {LETTER_OF_FLAG[flag] for flag in wanted_flags}
        for keyword in wanted_keywords:
            letter = mapping.letter_for(keyword)
            if letter is None:  # add_keywords gives each one a letter; never happens
                raise FolderError(f"keyword {keyword!r} has no letter in dovecot-keywords")
            letters.add(letter)
        try:
            return self._rename(message, _info_with(message.info, letters), recent=False)
        except FileNotFoundError:
            # Another process renamed it (its own flag change) or expunged it.
            current = self._find(message.uid)
        try:
            return self._rename(current, _info_with(current.info, letters), recent=False)
        except FileNotFoundError:
            raise FolderError(
                f"message UID {message.uid} is being changed by another process; try again"
            ) from None

    def expunge(self, message: MaildirMessage) -> bool:
        """Delete the message's file; False if it was already gone.

        Its UID stays used: the uidlist's next UID never goes down, and the
        record goes at the next rewrite.
        """
        try:
            os.unlink(message.path)
            return True
        except FileNotFoundError:
            pass
        try:
            current = self._find(message.uid)
        except MessageGone:
            return False
        try:
            os.unlink(current.path)
        except FileNotFoundError:
            return False
        return True

    def assign_uids(self) -> UidList:
        """Number every file that has no UID yet (under the uidlist lock); the list."""
        return self._assign_uids()

    # -- inside --

    def _find(self, uid: int) -> MaildirMessage:
        for candidate in self.scan():
            if candidate.uid == uid:
                return candidate
        raise MessageGone(uid)

    def _rename(self, message: MaildirMessage, info: str, *, recent: bool) -> MaildirMessage:
        name = f"{message.base_name}{INFO_SEPARATOR}{info}"
        target = self.path / "cur" / name
        if target != message.path:
            os.rename(message.path, target)
        keywords = self._keywords()
        flags, found = _flags_of(info, keywords)
        return replace(message, path=target, flags=flags, keywords=found, recent=recent, info=info)

    def _list(self) -> dict[str, tuple[str, str]]:
        """base name → (subdirectory, file name) of every message file in new/ and cur/."""
        files: dict[str, tuple[str, str]] = {}
        # new/ first: a file moved to cur/ between the two listings is then seen in cur/.
        for directory in ("new", "cur"):
            try:
                names = os.listdir(self.path / directory)
            except FileNotFoundError:
                continue
            for name in names:
                base = name.partition(":")[0]
                if name.startswith(".") or not base or "\n" in name:
                    log.info("%s: skipping %r/%r, not a message file", self.path, directory, name)
                    continue
                files[base] = (directory, name)
        return files

    def _read_uidlist(self) -> UidList | None:
        try:
            return read_uidlist(self.path)
        except UidListError as error:
            log.error(
                "%s: %s is broken (%s); it will be rebuilt", self.path, UIDLIST_FILE_NAME, error
            )
            return None

    def _assign_uids(self) -> UidList:
        """Under the uidlist lock: read it again, number new files, drop gone ones, write."""
        with uidlist_lock(self.path, wait=self.lock_wait) as lock:
            # Read and list again under the lock: another scanner may have numbered them.
            uidlist = self._read_uidlist() or UidList.create()
            files = self._list()
            missing = [r.name for r in uidlist.records if r.name not in files]
            if missing:
                # A concurrent rename inside cur/ can hide a file from one readdir();
                # a second listing keeps a live message from losing its UID.
                files.update(self._list())
            dropped = uidlist.retain(files.keys())
            added = uidlist.assign(files.keys())
            if added or dropped or not (self.path / UIDLIST_FILE_NAME).exists():
                write_uidlist(lock, uidlist)
            return uidlist

    def _keywords(self) -> Keywords:
        try:
            return keyword_file.read_keywords(self.path)
        except KeywordsError as error:
            log.error(
                "%s: %s is broken (%s); keywords not shown", self.path, "dovecot-keywords", error
            )
            return Keywords()

    def _message(
        self, uid: int, base: str, directory: str, name: str, keywords: Keywords
    ) -> MaildirMessage | None:
        path = self.path / directory / name
        size = message_size(name, path)
        if size is None:
            return None  # expunged while we looked
        vsize_match = _VIRTUAL_SIZE_IN_NAME.search(base)
        _, separator, info = name.partition(INFO_SEPARATOR)
        if not separator:
            info = ""
        flags, found = _flags_of(info, keywords)
        return MaildirMessage(
            uid=uid,
            base_name=base,
            path=path,
            size=size,
            virtual_size=int(vsize_match.group(1)) if vsize_match else None,
            flags=flags,
            keywords=found,
            recent=directory == "new",
            info=info,
        )


def _flags_of(info: str, keywords: Keywords) -> tuple[frozenset[str], frozenset[str]]:
    flags = frozenset(SYSTEM_FLAGS[letter] for letter in info if letter in SYSTEM_FLAGS)
    return flags, keywords.keywords_in(info)


def _info_with(info: str, letters: set[str]) -> str:
    """The flag letters `letters`, plus those of `info` that are not ours to change."""
    kept = {letter for letter in info if letter not in SYSTEM_FLAGS and not ("a" <= letter <= "z")}
    return "".join(sorted(kept | letters))
