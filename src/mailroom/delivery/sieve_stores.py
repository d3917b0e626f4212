"""Storing a message where a Sieve run put it: keep and fileinto, with their flags.

A run's `Keep` and `FileInto` actions become `Store`s (`stores_of`); each is written
through the store's one write path (`FolderWriter`, with the account's quota and the
change events that wake IDLE), in the order the script took them:
- the folder: "INBOX" for keep; fileinto's name uses the IMAP hierarchy separator
  (`FolderNames`). A folder that does not exist, or a name that cannot be one, falls
  back to INBOX, as Dovecot's LDA does; `:create` (RFC 5490 §3.2) creates it first.
- the same folder twice (after that fallback) is stored once (RFC 5228 §2.10.3:
  "the message is only delivered once to a given mailbox"), with the union of the
  flags asked for;
- flags (RFC 5232 imap4flags): system flags become Maildir's `:2,` letters, keywords
  get letters from the folder's `dovecot-keywords` (the store's `add_keywords`, under
  its lock). A flag that cannot be stored (an unknown `\\System` flag, an invalid
  keyword, a 27th keyword) is dropped with a log line; the message is still stored;
- editheader (RFC 5293): an action carrying a `HeaderChange` is stored with those
  header fields instead of the received ones, and the received body.

Blocking: called from delivery's worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mailroom.sieve.actions import Action, FileInto, HeaderChange, Keep
from mailroom.store import (
    INBOX,
    FlagError,
    FolderNameError,
    FolderWriter,
    KeywordsError,
    MailboxEvents,
    Maildir,
    NewMessage,
    Quota,
    folder_name,
)
from mailroom.store.flags import split_flags
from mailroom.store.folder_names import FolderNames
from mailroom.store.keywords import add_keywords

log = logging.getLogger("mailroom.delivery")


@dataclass(frozen=True)
class Store:
    """One copy to store: into `folder` (as the script named it), with `flags`."""

    folder: str
    flags: frozenset[str] = frozenset()
    create: bool = False
    header: HeaderChange | None = None


@dataclass(frozen=True)
class Stored:
    """Where a copy went: the folder's name (INBOX after a fallback) and its file."""

    folder: str
    path: Path


def stores_of(actions: Sequence[Action]) -> list[Store]:
    """The stores of a run's actions, in order (duplicates are merged later, once the
    folders are resolved)."""
    stores = []
    for action in actions:
        if isinstance(action, Keep):
            stores.append(Store(INBOX, frozenset(action.flags), header=action.header))
        elif isinstance(action, FileInto):
            stores.append(
                Store(action.folder, frozenset(action.flags), action.create, action.header)
            )
    return stores


class MessageFile:
    """The received message: its file, opened again for each copy; the header section
    as read once (`head`) and where the body starts."""

    def __init__(self, message: Path | BinaryIO, head: bytes, body_start: int) -> None:
        self.message = message
        self.head = head
        self.body_start = body_start
        self.start = 0 if isinstance(message, Path) else message.tell()

    @contextmanager
    def opened(self, offset: int = 0) -> Iterator[BinaryIO]:
        """The message from `offset` (0: its start)."""
        if isinstance(self.message, Path):
            with self.message.open("rb") as file:
                file.seek(offset)
                yield file
            return
        self.message.seek(self.start + offset)
        try:
            yield self.message
        finally:
            self.message.seek(self.start)

    def read_body(self, limit: int) -> bytes:
        """Up to `limit` octets of the body (the body test's input)."""
        with self.opened(self.body_start) as file:
            return file.read(max(0, limit))


class ChainedReader:
    """Bytes in hand, then the rest of a file: one stream for the store's writer."""

    def __init__(self, head: bytes, rest: BinaryIO | None) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.rest.read(size) if self.rest is not None else b""


def header_section(change: HeaderChange) -> bytes:
    """The header fields editheader left, as lines, and the blank line (RFC 5322 §2.1)."""
    lines = [
        name.encode("utf-8", "surrogateescape") + b": " + value + b"\r\n"
        for name, value in change.fields
    ]
    return b"".join(lines) + b"\r\n"


@dataclass
class _Target:
    folder: Maildir
    name: str
    flags: frozenset[str]
    header: HeaderChange | None


class StoreWriter:
    """Stores a message into one account's folders."""

    def __init__(
        self,
        account: Maildir,
        *,
        quota_bytes: int | None,
        separator: str,
        hostname: str,
        events: MailboxEvents | None,
        context: str,
    ) -> None:
        self.account = account
        self.quota = Quota(account.root, quota_bytes)
        self.names = FolderNames(separator)
        self.hostname = hostname
        self.events = events
        self.context = context
        """"QUEUEID: to=<address>", for log lines."""

    def store(self, stores: Sequence[Store], message: MessageFile, prefix: bytes) -> list[Stored]:
        """Write each distinct copy; QuotaExceeded and OSError are the caller's to turn
        into a result (copies already written stay: a retry may store them twice, as
        Pigeonhole's would)."""
        done = []
        for target in self._targets(stores):
            done.append(Stored(target.name, self._put(target, message, prefix)))
        return done

    def _targets(self, stores: Sequence[Store]) -> list[_Target]:
        targets: list[_Target] = []
        for store in stores:
            folder, name = self._folder(store)
            for target in targets:
                if target.folder.root == folder.root and target.header == store.header:
                    target.flags |= store.flags
                    break
            else:
                targets.append(_Target(folder, name, store.flags, store.header))
        return targets

    def _folder(self, store: Store) -> tuple[Maildir, str]:
        if store.folder.upper() == INBOX:
            return self.account, INBOX
        try:
            directory = self.names.directory(store.folder)
            if directory is None:
                return self.account, INBOX
            if store.create:
                return self.account.create_folder(folder_name(directory)), store.folder
        except FolderNameError as error:
            log.info("%s: into INBOX: %s", self.context, error)
            return self.account, INBOX
        folder = Maildir(self.account.root / directory, hostname=self.hostname, is_folder=True)
        if folder.exists():
            return folder, store.folder
        log.info("%s: into INBOX: no folder %r", self.context, store.folder)
        return self.account, INBOX

    def _put(self, target: _Target, message: MessageFile, prefix: bytes) -> Path:
        system, keywords = self._flags(target.flags)
        writer = FolderWriter(
            target.folder.root, hostname=self.hostname, quota=self.quota, events=self.events
        )
        root = target.folder.root
        with self._source(target, message) as source:
            new = NewMessage(source, system, keywords, prefix=prefix)
            try:
                put = writer.put([new], lambda wanted: add_keywords(root, wanted))
            except KeywordsError as error:
                log.warning("%s: keywords not stored in %s: %s", self.context, target.name, error)
                put = None
        if put is None:  # the stream was read: start again, without the keywords
            with self._source(target, message) as source:
                put = writer.put([NewMessage(source, system, prefix=prefix)])
        (path,) = put.paths
        return path

    @contextmanager
    def _source(self, target: _Target, message: MessageFile) -> Iterator[ChainedReader]:
        if target.header is None:
            with message.opened() as file:
                yield ChainedReader(b"", file)
            return
        with message.opened(message.body_start) as body:
            yield ChainedReader(header_section(target.header), body)

    def _flags(self, flags: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        system: set[str] = set()
        keywords: set[str] = set()
        for flag in sorted(flags):
            try:
                flag_system, flag_keywords = split_flags([flag])
            except FlagError as error:
                log.info("%s: flag not stored: %s", self.context, error)
                continue
            system |= flag_system
            keywords |= flag_keywords
        return frozenset(system), frozenset(keywords)
