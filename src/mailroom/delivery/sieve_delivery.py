"""Local delivery through the account's Sieve scripts: run them, carry out what they
decided (RFC 5228 §2.10), log it as Postfix's local(8) would.

For each message and account (`SieveDelivery.deliver`, the `DeliveryFilter` of
`LocalDelivery`):
1. The scripts: the global `before` scripts, the account's active script, the global
   `after` scripts (sieve_scripts.py), compiled once per version. None at all: the
   plain delivery to INBOX, in the same worker thread. A script that does not compile
   is logged (one line: file, line, message) and left out; the others run.
2. The run (`SieveEngine.run`, the interpreter): never raises for a script problem;
   a run stopped by an error or a limit (`Outcome.failed`) is logged with queue id,
   recipient and reason, and its outcome is the implicit keep.
3. Its outcome, in this order, so that what can fail for a while (a full mailbox) fails
   before anything leaves:
   - reject/ereject (RFC 5429) alone: a permanent failure "5.7.1 <reason>", which the
     dispatcher answers with 550 in the SMTP transaction (ereject, the message's only
     recipient, delivered while the client waits) or with a DSN through the bounce
     machinery. Never to the null sender (RFC 5429 §2.1.2): such a message is discarded;
   - keep and fileinto (sieve_stores.py): a full mailbox defers the whole delivery;
   - redirects (sieve_sending.py): one that cannot be queued defers the delivery (the
     stores may then be repeated on the retry: better twice than a lost forward); one
     that would come back to the account is kept in INBOX instead;
   - vacation (RFC 5230 §4.2): sent only if the account's memory (sieve_memory.py) has
     no answer to that sender under that handle within the period; recorded when queued;
   - duplicate marks (RFC 7352 §3): recorded once the message is delivered;
   - discard: logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid
from pathlib import Path
from typing import BinaryIO, Generic, Protocol, TypeVar

from mailroom.config.model import MailboxConfig
from mailroom.config.sieve import SieveConfig
from mailroom.delivery.local import (
    LocalDelivery,
    LocalRequest,
    LocalResult,
    LocalStatus,
    has_delivered_to,
    log_result,
    loop_failure,
    opened,
    read_head,
    trace_headers,
    write_failure,
)
from mailroom.delivery.sieve_memory import SieveMemory
from mailroom.delivery.sieve_scripts import (
    Compiled,
    IncludeLoader,
    ScriptCache,
    active_script_name,
)
from mailroom.delivery.sieve_sending import RedirectToSelf, SieveMail
from mailroom.delivery.sieve_stores import MessageFile, Store, Stored, StoreWriter, stores_of
from mailroom.queue import QueueError
from mailroom.sieve.actions import Discard, Keep, Outcome, Redirect, Reject, VacationReply
from mailroom.sieve.context import Envelope, MessageSource, RunContext
from mailroom.sieve.vacation_message import build_reply
from mailroom.store import (
    INBOX,
    FolderNameError,
    MailboxEvents,
    MailboxPathError,
    Maildir,
    QuotaExceeded,
    SieveLocation,
    locate_mailbox,
    locate_sieve,
)
from mailroom.store.folder_names import FolderNames

log = logging.getLogger("mailroom.delivery")

S = TypeVar("S")

MAX_LOCATIONS = 10_000
"""Accounts whose script locations are remembered (a few hundred bytes each)."""


class SieveEngine(Protocol[S]):
    """The interpreter as delivery uses it (`sieve_engine.py` adapts `mailroom.sieve`)."""

    def compile(self, source: bytes, name: str) -> S | str:
        """The compiled script, or the compile error's text ("NAME: line N: message")."""
        ...

    def run(self, scripts: Sequence[S], context: RunContext) -> Outcome: ...


@dataclass(frozen=True)
class SieveSettings:
    """What Sieve at delivery needs of the config, paths resolved."""

    sieve: SieveConfig
    mailbox: MailboxConfig
    data_dir: Path
    hostname: str
    separator: str = "."
    """The IMAP hierarchy separator fileinto's folder names use."""
    before: tuple[Path, ...] = ()
    after: tuple[Path, ...] = ()
    global_directory: Path | None = None
    subaddress_delimiters: str = "+"
    """Routing's recipient_delimiter, for the subaddress extension (RFC 5233)."""


@dataclass
class _Decided:
    """A run carried out as far as the disk goes; what is left to send."""

    outcome: Outcome
    message: MessageFile
    memory: SieveMemory
    account: Maildir
    writer: StoreWriter
    prefix: bytes
    stored: list[Stored]
    redirects: list[Redirect] = field(default_factory=list)
    vacations: list[VacationReply] = field(default_factory=list)


class SieveDelivery(Generic[S]):
    """The accounts' Sieve scripts at local delivery (a `DeliveryFilter`)."""

    def __init__(
        self,
        engine: SieveEngine[S],
        settings: SieveSettings,
        mail: SieveMail,
        *,
        events: MailboxEvents | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.mail = mail
        self.events = events
        self.clock = clock
        self._locations: OrderedDict[str, SieveLocation | None] = OrderedDict()
        self._lock = threading.Lock()
        self.scripts = ScriptCache[S](
            engine.compile, max_script_size=settings.sieve.max_script_size
        )

    async def deliver(self, local: LocalDelivery, request: LocalRequest) -> LocalResult:
        """Run the account's scripts over the message and carry out their outcome."""
        return await self._carry_out(
            await asyncio.to_thread(self._run_and_store, local, request, None), request
        )

    async def carry_out(
        self, local: LocalDelivery, request: LocalRequest, outcome: Outcome
    ) -> LocalResult:
        """Carry out `outcome` as if the scripts had decided it (for tests, and for
        whoever has an outcome already), and log the result as `LocalDelivery` does."""
        result = await self._carry_out(
            await asyncio.to_thread(self._run_and_store, local, request, outcome), request
        )
        log_result(request, result)
        return result

    async def _carry_out(
        self, decided: _Decided | LocalResult, request: LocalRequest
    ) -> LocalResult:
        if isinstance(decided, LocalResult):
            return decided
        try:
            return await self._send(request, decided)
        finally:
            await asyncio.to_thread(decided.memory.close)

    # -- in the worker thread --

    def scripts_for(self, address: str) -> list[Compiled[S]]:
        """The scripts a delivery to `address` runs, in order (blocking)."""
        found: list[Compiled[S]] = []
        for path in self.settings.before:
            found += self._global(path)
        where = self.location(address)
        if where is not None:
            personal = self.scripts.load(where.active, active_script_name(where.active))
            if personal is not None:
                found.append(personal)
        for path in self.settings.after:
            found += self._global(path)
        return found

    def location(self, address: str) -> SieveLocation | None:
        """Where the account's scripts are (None: its address names no directory);
        remembered, since expanding the templates costs more than running a short script."""
        with self._lock:
            if address in self._locations:
                self._locations.move_to_end(address)
                return self._locations[address]
        try:
            where: SieveLocation | None = locate_sieve(
                self.settings.sieve, self.settings.mailbox, self.settings.data_dir, address
            )
        except MailboxPathError:
            where = None
        with self._lock:
            self._locations[address] = where
            while len(self._locations) > MAX_LOCATIONS:
                self._locations.popitem(last=False)
        return where

    def _global(self, path: Path) -> list[Compiled[S]]:
        compiled = self.scripts.load(path, path.stem)
        if compiled is None:
            log.warning("global Sieve script %s is missing; not run", path)
            return []
        return [compiled]

    def _run_and_store(
        self, local: LocalDelivery, request: LocalRequest, outcome: Outcome | None
    ) -> _Decided | LocalResult:
        """The scripts' outcome (`outcome`, when given, instead of a run), carried out as
        far as the disk goes: a final result, or what is left to send."""
        scripts = self.scripts_for(request.recipient) if outcome is None else []
        if outcome is None and not scripts:
            return local.deliver_plainly(request)
        prepared = self._prepare(local, request)
        if isinstance(prepared, LocalResult):
            return prepared
        account, quota_bytes, message, size = prepared
        memory = SieveMemory(account.root, clock=self.clock)
        if outcome is None:
            outcome = self._run(scripts, request, message, size, memory, account)
        refusal = self._refusal(request, outcome)
        if refusal is not None:
            memory.close()
            return refusal
        writer = StoreWriter(
            account,
            quota_bytes=quota_bytes,
            separator=self.settings.separator,
            hostname=self.settings.hostname,
            events=self.events,
            context=f"{request.queue_id}: to=<{request.recipient}>",
        )
        prefix = trace_headers(request.sender, request.original) or b""
        try:
            stored = writer.store(stores_of(outcome.actions), message, prefix)
        except QuotaExceeded:
            memory.close()
            return LocalResult.temporary_failure("4.2.2 Mailbox full")
        except OSError as error:
            memory.close()
            return write_failure(request, error)
        return _Decided(
            outcome,
            message,
            memory,
            account,
            writer,
            prefix,
            stored,
            _distinct_redirects(outcome, self.settings.sieve.max_redirects),
            [a for a in outcome.actions if isinstance(a, VacationReply)][:1],
        )

    def _prepare(
        self, local: LocalDelivery, request: LocalRequest
    ) -> tuple[Maildir, int | None, MessageFile, int] | LocalResult:
        """The account's Maildir (created) and quota, the message with its header read
        and its size; or the failure (a bad address, a loop, a disk error)."""
        if trace_headers(request.sender, request.original) is None:
            return LocalResult.permanent_failure("5.1.7 sender or recipient unusable in a header")
        try:
            where = locate_mailbox(local.config, local.base, request.recipient, request.quota_bytes)
        except MailboxPathError as error:
            log.error("%s: %s", request.queue_id, error)
            return LocalResult.permanent_failure(
                "5.3.5 the recipient's address cannot name a mailbox here"
            )
        account = Maildir(where.root, hostname=self.settings.hostname)
        try:
            with opened(request.message) as source:
                size = _size(source)
                head, header = read_head(source)
            if has_delivered_to(header, request.original):
                return loop_failure(request.original)
            account.create()
        except OSError as error:
            return write_failure(request, error)
        message = MessageFile(request.message, head[: header.header_end], header.body_start)
        return account, where.quota_bytes, message, size

    def _run(
        self,
        scripts: list[Compiled[S]],
        request: LocalRequest,
        message: MessageFile,
        size: int,
        memory: SieveMemory,
        account: Maildir,
    ) -> Outcome:
        usable = []
        for compiled in scripts:
            if compiled.script is None:
                # One line naming the file and the line; the rest of the scripts still run.
                log.error(
                    "%s: to=<%s>: Sieve script %s not run: %s",
                    request.queue_id,
                    request.recipient,
                    compiled.path,
                    compiled.error,
                )
            else:
                usable.append(compiled.script)
        if not usable:
            return Outcome((Keep(implicit=True),))
        personal = self.location(request.recipient)
        context = RunContext(
            envelope=Envelope(request.sender, request.original, request.detail),
            message=MessageSource(message.head, size, message.read_body),
            folders=_Folders(account, self.settings.separator),
            duplicates=memory,
            includes=IncludeLoader(
                None if personal is None else personal.scripts,
                self.settings.global_directory,
                self.settings.sieve.max_script_size,
            ),
            own_addresses=tuple(
                dict.fromkeys((request.recipient, request.original, *request.own_addresses))
            ),
            now=datetime.fromtimestamp(self.clock()).astimezone(),
            hostname=self.settings.hostname,
            subaddress_delimiters=self.settings.subaddress_delimiters,
        )
        outcome = self.engine.run(usable, context)
        if outcome.failed is not None:
            log.warning(
                "%s: to=<%s>: Sieve run stopped, message kept: %s",
                request.queue_id,
                request.recipient,
                outcome.failed,
            )
        return outcome

    def _refusal(self, request: LocalRequest, outcome: Outcome) -> LocalResult | None:
        """The result of a reject that stands alone (the interpreter refuses reject
        beside keep, fileinto or redirect); None when there is none."""
        rejects = [a for a in outcome.actions if isinstance(a, Reject)]
        others = [a for a in outcome.actions if not isinstance(a, Reject | Discard)]
        if not rejects or others:
            return None
        reject = rejects[0]
        if not request.sender:
            # RFC 5429 §2.1.2: nobody to tell; Pigeonhole discards it too.
            return LocalResult(
                LocalStatus.DELIVERED, "2.0.0 rejected by sieve; discarded (null sender)"
            )
        reason = " ".join(reject.reason.split())[:400] or "rejected"
        return LocalResult(
            LocalStatus.PERMANENT_FAILURE, f"5.7.1 {reason}", smtp_refusal=reject.extended
        )

    # -- back on the event loop --

    async def _send(self, request: LocalRequest, decided: _Decided) -> LocalResult:
        notes: list[str] = []
        kept_for_self = False
        for redirect in decided.redirects:
            try:
                queued = await self.mail.redirect(
                    redirect,
                    decided.message,
                    sender=request.sender,
                    account=request.recipient,
                    original=request.original,
                )
            except RedirectToSelf:
                log.info(
                    "%s: to=<%s>: redirect to <%s> comes back here: kept instead",
                    request.queue_id,
                    request.recipient,
                    redirect.address,
                )
                kept_for_self = True
                continue
            except (QueueError, OSError) as error:
                log.error(
                    "%s: redirect to <%s> not queued: %s", request.queue_id, redirect.address, error
                )
                return LocalResult.temporary_failure("4.3.0 a Sieve redirect could not be queued")
            notes.append(f"redirected to <{redirect.address}> by sieve as {queued}")
        if kept_for_self and not any(s.folder == INBOX for s in decided.stored):
            try:
                decided.stored += await asyncio.to_thread(
                    decided.writer.store, [Store(INBOX)], decided.message, decided.prefix
                )
            except QuotaExceeded:
                return LocalResult.temporary_failure("4.2.2 Mailbox full")
            except OSError as error:
                return write_failure(request, error)
        for reply in decided.vacations:
            notes += await self._vacation(request, decided.memory, reply)
        for mark in decided.outcome.duplicate_marks:
            await asyncio.to_thread(
                decided.memory.mark, mark.handle, mark.value, mark.period_seconds
            )
        return _result(decided.stored, notes)

    async def _vacation(
        self, request: LocalRequest, memory: SieveMemory, reply: VacationReply
    ) -> list[str]:
        claimed = await asyncio.to_thread(
            memory.claim_vacation, reply.handle, reply.sender, reply.period_seconds
        )
        if not claimed:
            log.info(
                "%s: to=<%s>: vacation reply to <%s> not sent: answered within the period",
                request.queue_id,
                request.recipient,
                reply.sender,
            )
            return []
        now = datetime.fromtimestamp(self.clock()).astimezone()
        text = build_reply(reply, date=now, message_id=make_msgid(domain=self.settings.hostname))
        queued = await self.mail.vacation(reply, text)
        if queued is None:
            await asyncio.to_thread(memory.release_vacation, reply.handle, reply.sender)
            return []
        return [f"vacation reply to <{reply.sender}> as {queued}"]


def _size(source: BinaryIO) -> int:
    """Octets from the stream's position to its end (the position is kept)."""
    here = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(here)
    return end - here


def _distinct_redirects(outcome: Outcome, limit: int) -> list[Redirect]:
    """RFC 5228 §2.10.3: a second redirect to the same address is not sent again; and
    never more than max_redirects, whatever the interpreter let through."""
    seen: dict[str, Redirect] = {}
    for action in outcome.actions:
        if isinstance(action, Redirect):
            seen.setdefault(action.address.lower(), action)
    return list(seen.values())[:limit]


def _result(stored: list[Stored], notes: list[str]) -> LocalResult:
    """The delivered result and Postfix-style text for the log line."""
    parts = []
    folders = list(dict.fromkeys(s.folder for s in stored))
    if folders == [INBOX]:
        parts.append("delivered to maildir by sieve")
    elif folders:
        shown = ", ".join(folders)
        noun = "folder" if len(folders) == 1 else "folders"
        parts.append(f"delivered to maildir {noun} {shown} by sieve")
    parts += notes
    if not stored and not notes:
        parts.append("discarded by sieve")
    path = stored[0].path if stored else None
    return LocalResult(LocalStatus.DELIVERED, "2.0.0 " + "; ".join(parts), path)


class _Folders:
    """`mailboxexists` (RFC 5490 §3.1): does the folder exist in the account?"""

    def __init__(self, account: Maildir, separator: str) -> None:
        self.account = account
        self.names = FolderNames(separator)

    def exists(self, name: str) -> bool:
        try:
            directory = self.names.directory(name)
        except FolderNameError:
            return False
        if directory is None:
            return True
        return Maildir(self.account.root / directory, is_folder=True).exists()
