"""Local delivery: one message into one account's Maildir, as Postfix's local(8) would.

For each recipient it
- prepends `Return-Path: <sender>` and `Delivered-To: <original recipient>`
  (Postfix's spelling: the address without angle brackets);
- refuses, permanently, a message whose header section already carries
  `Delivered-To:` for that same address: it has been here before and is
  looping through some forward (Postfix local(8), "5.4.6 mail forwarding loop");
- creates the Maildir on first delivery;
- enforces the quota (the account's, else the configured default; None is
  unlimited) against the stored size, as Dovecot's maildir quota counts it,
  and defers a message that does not fit ("4.2.2 Mailbox full"), so that the
  queue retries it until the member makes room or the message expires;
- delivers to a folder when asked; a folder that does not exist or cannot
  exist falls back to INBOX, as Dovecot's LDA does, unless `create_folder` is set;
- hands the message to a filter when one is set (`DeliveryFilter`: the
  account's Sieve scripts, sieve_delivery.py), which decides where it goes.

Each call reads the stored message once, streaming, and puts it into the
folder through the store's one write path (store/writing.py: tmp/, fsync,
link into `new/`, fsync of `new/`, quota, change events) before reporting
DELIVERED. Where the account's Maildir is and its quota are the store's to
say (`locate_mailbox`). The header section is read with `mailroom.message`.
All the disk work runs in one thread per call. The delivery agent logs Postfix's line for the
recipient: `QUEUEID: to=<alice@example.org>, relay=local, status=sent (...)`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Protocol

from mailroom.config.model import MailboxConfig
from mailroom.message.headers import HeaderBlock, parse_header_block, unfold
from mailroom.store import (
    INBOX,
    FolderNameError,
    FolderWriter,
    MailboxEvents,
    MailboxPathError,
    Maildir,
    NewMessage,
    Quota,
    QuotaExceeded,
    locate_mailbox,
)

log = logging.getLogger("mailroom.delivery")

CHUNK = 64 * 1024
QUARANTINE_NOTE = "quarantine_folder"
"""The envelope note (`Envelope.extra`) of mail the inbound check quarantined (DMARC
p=quarantine): its value is the folder to deliver to, made if missing, without running
Sieve, so no script acts on (or vacation-answers) a forged sender."""
HEADER_SCAN_LIMIT = 1024 * 1024
"""Delivered-To: headers are looked for in this much of the message at most."""


class LocalStatus(Enum):
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary failure"
    PERMANENT_FAILURE = "permanent failure"


@dataclass(frozen=True)
class LocalResult:
    status: LocalStatus
    reason: str
    """Enhanced status code and text (RFC 3463), e.g. "4.2.2 Mailbox full"."""
    path: Path | None = None
    """Where the message was stored, when delivered (None: it was not stored, e.g.
    discarded or only redirected by a Sieve script)."""
    smtp_refusal: bool = False
    """A permanent failure the SMTP server should answer in the transaction, when this
    was the message's only recipient (Sieve's ereject, RFC 5429 §2.1)."""

    @classmethod
    def delivered(cls, path: Path, reason: str = "2.0.0 delivered to maildir") -> LocalResult:
        return cls(LocalStatus.DELIVERED, reason, path)

    @classmethod
    def temporary_failure(cls, reason: str) -> LocalResult:
        return cls(LocalStatus.TEMPORARY_FAILURE, reason)

    @classmethod
    def permanent_failure(cls, reason: str) -> LocalResult:
        return cls(LocalStatus.PERMANENT_FAILURE, reason)


class DeliveryFilter(Protocol):
    """Decides where a message goes and carries it out (the account's Sieve scripts:
    `sieve_delivery.SieveDelivery`), using `local` for the plain delivery."""

    async def deliver(self, local: LocalDelivery, request: LocalRequest) -> LocalResult: ...


class LocalDelivery:
    """Delivers into the Maildirs laid out by `config.path_template` below `base`."""

    def __init__(
        self,
        config: MailboxConfig,
        base: Path,
        hostname: str,
        *,
        events: MailboxEvents | None = None,
        filter: DeliveryFilter | None = None,
    ) -> None:
        self.config = config
        self.base = base
        self.hostname = hostname
        self.events = events
        """Told of each delivery, so IMAP sessions in IDLE hear of new mail at once."""
        self.filter = filter
        """Run for each message (Sieve); None delivers everything to INBOX."""

    def mailbox(self, address: str) -> Maildir:
        """The Maildir of the account whose primary address is `address`."""
        where = locate_mailbox(self.config, self.base, address, None)
        return Maildir(where.root, hostname=self.hostname)

    async def deliver(
        self,
        message: BinaryIO | Path,
        *,
        sender: str,
        recipient: str,
        original_recipient: str | None = None,
        detail: str | None = None,
        quota_bytes: int | None,
        folder: str = INBOX,
        create_folder: bool = False,
        queue_id: str = "NOQUEUE",
        own_addresses: tuple[str, ...] = (),
        quarantine_folder: str | None = None,
    ) -> LocalResult:
        """Deliver `message` (a path, or a file read from its current position and then
        put back there) to the account `recipient` (its primary address).

        `original_recipient` is the address the message was sent to (default:
        `recipient`); `detail` is the sub-address detail routing found (`lists` of
        `alice+lists@`), for Sieve's `:detail`; `quota_bytes` is the account's own quota
        (None: use the configured default); `own_addresses` are the account's other
        addresses (Sieve's vacation answers none of them). With a filter (Sieve), the
        filter decides the folder; `quarantine_folder` (QUARANTINE_NOTE) overrides both.
        Never raises for a delivery problem: it is in the result.
        """
        request = LocalRequest(
            message=message,
            sender=sender,
            recipient=recipient,
            original=original_recipient or recipient,
            quota_bytes=quota_bytes,
            folder=quarantine_folder or folder,
            create_folder=create_folder or quarantine_folder is not None,
            queue_id=queue_id,
            detail=detail,
            own_addresses=own_addresses,
        )
        if self.filter is not None and _rereadable(message) and quarantine_folder is None:
            result = await self.filter.deliver(self, request)
        else:
            result = await asyncio.to_thread(self.deliver_plainly, request)
        log_result(request, result)
        return result

    def deliver_plainly(self, request: LocalRequest) -> LocalResult:
        """The delivery without a filter, into `request.folder` (blocking)."""
        prefix = trace_headers(request.sender, request.original)
        if prefix is None:
            return LocalResult.permanent_failure("5.1.7 sender or recipient unusable in a header")
        try:
            where = locate_mailbox(self.config, self.base, request.recipient, request.quota_bytes)
        except MailboxPathError as error:
            log.error("%s: %s", request.queue_id, error)
            return LocalResult.permanent_failure(
                "5.3.5 the recipient's address cannot name a mailbox here"
            )
        account = Maildir(where.root, hostname=self.hostname)
        try:
            with opened(request.message) as source:
                head, header = read_head(source)
                if has_delivered_to(header, request.original):
                    return loop_failure(request.original)
                account.create()
                target = self._folder(account, request)
                writer = FolderWriter(
                    target.root,
                    hostname=self.hostname,
                    quota=Quota(account.root, where.quota_bytes),
                    events=self.events,
                )
                put = writer.put([NewMessage(_Chained(head, source), prefix=prefix)])
        except QuotaExceeded:
            return LocalResult.temporary_failure("4.2.2 Mailbox full")
        except OSError as error:
            return write_failure(request, error)
        (path,) = put.paths
        if target is account:
            return LocalResult.delivered(path)
        return LocalResult.delivered(path, f"2.0.0 delivered to maildir folder {request.folder}")

    def _folder(self, account: Maildir, request: LocalRequest) -> Maildir:
        if request.folder.upper() == INBOX:
            return account
        try:
            folder = account.folder(request.folder)
            if request.create_folder:
                return account.create_folder(request.folder)
        except FolderNameError as error:
            log.info("%s: to=<%s>: into INBOX: %s", request.queue_id, request.recipient, error)
            return account
        if folder.exists():
            return folder
        log.info(
            "%s: to=<%s>: into INBOX: no folder %r",
            request.queue_id,
            request.recipient,
            request.folder,
        )
        return account


@dataclass(frozen=True)
class LocalRequest:
    """One message for one account, as `LocalDelivery.deliver` was asked."""

    message: BinaryIO | Path
    sender: str
    recipient: str
    original: str
    quota_bytes: int | None
    folder: str
    create_folder: bool
    queue_id: str
    detail: str | None = None
    own_addresses: tuple[str, ...] = ()


def _rereadable(message: BinaryIO | Path) -> bool:
    """Whether the message can be read more than once (a filter may store several copies)."""
    return isinstance(message, Path) or message.seekable()


def loop_failure(original: str) -> LocalResult:
    return LocalResult.permanent_failure(
        f"5.4.6 Delivered-To loop: message already delivered to {original}"
    )


def write_failure(request: LocalRequest, error: OSError) -> LocalResult:
    """The temporary failure for a write the disk refused (logged)."""
    log.warning("%s: to=<%s>: %s", request.queue_id, request.recipient, error)
    if error.errno == errno.EDQUOT:
        return LocalResult.temporary_failure("4.2.2 Mailbox full (disk quota)")
    if error.errno == errno.ENOSPC:
        return LocalResult.temporary_failure("4.3.1 Mail system full")
    return LocalResult.temporary_failure("4.3.0 cannot write to the mailbox")


def log_result(request: LocalRequest, result: LocalResult) -> None:
    original = "" if request.original == request.recipient else f", orig_to=<{request.original}>"
    status = {
        LocalStatus.DELIVERED: "sent",
        LocalStatus.TEMPORARY_FAILURE: "deferred",
        LocalStatus.PERMANENT_FAILURE: "bounced",
    }[result.status]
    reason = result.reason
    if result.status is LocalStatus.DELIVERED:
        reason = reason.removeprefix("2.0.0 ")
    log.info(
        "%s: to=<%s>%s, relay=local, status=%s (%s)",
        request.queue_id,
        request.recipient,
        original,
        status,
        reason,
    )


def trace_headers(sender: str, original: str) -> bytes | None:
    """Return-Path and Delivered-To (RFC 5321 §4.4, Postfix local(8)); None if unsafe."""
    if any(c in value for value in (sender, original) for c in "\r\n\0<>"):
        return None
    try:
        return f"Return-Path: <{sender}>\r\nDelivered-To: {original}\r\n".encode(
            "utf-8", "surrogateescape"
        )
    except UnicodeEncodeError:
        return None


class _PositionKept(AbstractContextManager[BinaryIO]):
    """A caller's file, read from where it stands and put back there afterwards."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.start = file.tell() if file.seekable() else None

    def __enter__(self) -> BinaryIO:
        return self.file

    def __exit__(self, *exc_info: object) -> None:
        if self.start is not None:
            self.file.seek(self.start)


def opened(message: BinaryIO | Path) -> AbstractContextManager[BinaryIO]:
    if isinstance(message, Path):
        return message.open("rb")
    return _PositionKept(message) if message.seekable() else nullcontext(message)


class _Chained:
    """Bytes already read, then the rest of a file: one stream for the store's writer."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.rest.read(size)


def read_head(source: BinaryIO) -> tuple[bytes, HeaderBlock]:
    """Read until the end of the header section is in hand (or the scan limit): the
    bytes read, and the header fields among them (RFC 5322 §2.1)."""
    data = b""
    header = parse_header_block(data, 0, 0)
    while len(data) < HEADER_SCAN_LIMIT:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        data += chunk
        header = parse_header_block(data, 0, len(data))
        if header.body_start > header.header_end:
            break  # the blank line is in: the header section is whole
    return data, header


def has_delivered_to(header: HeaderBlock, address: str) -> bool:
    wanted = address.strip().lower()
    for field in header.fields:
        if field.name.lower() == "delivered-to":
            text = unfold(field.value).decode("utf-8", "replace")
            if text.strip().strip("<>").strip().lower() == wanted:
                return True
    return False
