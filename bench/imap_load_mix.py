"""One simulated mail client of the IMAP load benchmark (imap_load.py): logs in and, until
the run's deadline, picks its next action from a weighted random mix, times each command
from sending it to its tagged reply, and feeds every answer to the checks of
imap_load_check.py.

The actions (default weights in ``WEIGHTS``) are what desktop and phone clients send to a
host all day: LIST, STATUS, SELECT/EXAMINE, FETCH of flags and envelopes over small
ranges, FETCH of whole messages (BODY.PEEK[]) and texts (BODY[TEXT], which sets \\Seen),
STORE +FLAGS/-FLAGS of \\Seen, \\Flagged and keywords, EXPUNGE of messages marked
\\Deleted, APPEND of small and medium messages, IDLE until another client's APPEND into
that mailbox wakes it (or a short bound), and LOGOUT with a new LOGIN (to any account).

Each client's choices come from its own ``random.Random`` seeded with (seed, index), so
two targets get the same mix; what the numbers in a range are depends on the mailbox.
Every wait is bounded by the command timeout; the loop ends at the deadline by itself.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from imap_client import ImapConnection, ImapError, Reply, compact_ranges, describe, quote
from imap_load_check import ALLOWED_NO, APPENDUID, Registry, SessionView, owner_keyword

T = TypeVar("T")

WEIGHTS: dict[str, int] = {
    # Per thousand actions, about. LOGOUT/LOGIN and IDLE are rare: each costs a client
    # hundreds of ms (an argon2id hash; waiting up to the bound) in which it sends nothing,
    # and more of them would measure the waiting rather than the server.
    "list": 30,
    "status": 60,
    "select": 60,
    "examine": 20,
    "fetch_flags": 200,
    "fetch_envelope": 120,
    "fetch_body": 100,
    "fetch_text": 30,
    "store": 150,
    "expunge": 25,
    "append_small": 50,
    "append_medium": 15,
    "idle": 2,
    "relogin": 2,
}
SHARED_FLAGS = ("\\Seen", "\\Flagged", "$keyword1", "$keyword2", "$keyword3")
CAPABILITY_IN_TEXT = re.compile(r"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
START = " (start)"  # appended to the labels of the first CONNECT and LOGIN
RECONNECT_PAUSE_S = 0.1  # after a failed connect or login, before the next try
FILLER = b"".join(
    f"Line {n:05d} of a message the load benchmark appends; nothing to read here.\r\n".encode()
    for n in range(1000)
)  # 77 KiB of lines to cut message bodies from


@dataclass(frozen=True)
class MixConfig:
    host: str
    port: int
    accounts: tuple[str, ...]
    password: str
    folders: tuple[str, ...]
    run_tag: str
    seed: int
    command_timeout_s: float
    idle_bound_s: float
    owner_slots: int
    weights: tuple[tuple[str, int], ...] = tuple(WEIGHTS.items())


@dataclass
class RunStats:
    """Latencies in ms per command label, and what else a run counts."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    label_errors: Counter[str] = field(default_factory=Counter)
    in_time: Counter[str] = field(default_factory=Counter)
    """Commands answered before the deadline: the rate counts these (a LOGIN or IDLE that
    ends seconds after it would stretch the time of the run)."""
    counters: Counter[str] = field(default_factory=Counter)


class Dropped(Exception):
    """The connection is gone (closed, reset or timed out): log in again."""


class Client:
    def __init__(self, index: int, config: MixConfig, registry: Registry, stats: RunStats):
        self.index = index
        self.config = config
        self.registry = registry
        self.stats = stats
        self.rng = random.Random(f"{config.seed}:{index}")  # noqa: S311 - a reproducible mix
        self.conn: ImapConnection | None = None
        self.view = SessionView(registry, "")
        self.appended = 0
        self.found: list[int] = []
        self.deadline = 0.0
        self.starting = False
        names, weights = zip(*config.weights, strict=True)
        self.names: list[str] = list(names)
        self.weights: list[int] = list(weights)

    # ------------------------------------------------------------------ plumbing

    async def start(self, gate: asyncio.Semaphore) -> None:
        """The first connection and LOGIN, before the clock starts (rows "… (start)"): a
        host's sessions are mostly logged in already; the storm of N logins at once is
        reported, not mixed into the run."""
        self.starting = True
        try:
            async with gate:
                await self.login()
        except Dropped:
            self.drop()
        finally:
            self.starting = False

    async def run(self, deadline: float, stop: asyncio.Event) -> None:
        """Actions until the deadline (or ``stop``), then LOGOUT."""
        self.deadline = deadline
        try:
            while time.perf_counter() < deadline and not stop.is_set():
                try:
                    if self.conn is None:
                        await self.login()
                        continue
                    action = self.rng.choices(self.names, self.weights)[0]
                    await getattr(self, f"do_{action}")()
                except Dropped:
                    self.drop()
            if self.conn is not None:
                await self.timed("LOGOUT", "LOGOUT")
        except Dropped:
            pass
        finally:
            self.drop()

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.abort()
            self.conn = None
        if self.view.owner_slot is not None:
            self.registry.release_slot(self.view.account, self.view.owner_slot)
        self.view = SessionView(self.registry, "")

    def record(self, label: str, started: float) -> None:
        if self.starting:
            label += START
        now = time.perf_counter()
        self.stats.latencies[label].append((now - started) * 1000)
        if now <= self.deadline:
            self.stats.in_time[label] += 1

    async def guarded(self, label: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run one exchange; a timeout or a lost connection becomes Dropped, counted."""
        try:
            return await step()
        except TimeoutError:
            self.fail(label, f"timeout ({label})", f"client {self.index}")
        except (ImapError, OSError, asyncio.IncompleteReadError) as exc:
            self.fail(label, f"connection lost ({label})", describe(exc))
        raise Dropped

    def fail(self, label: str, kind: str, sample: str, allowed: bool = False) -> None:
        if self.starting:
            label, kind = label + START, kind + START
        self.stats.label_errors[label] += 0 if allowed else 1
        self.registry.errors.add(kind, sample, allowed=allowed)

    async def timed(self, label: str, text: str, uid_search: bool = False) -> Reply:
        """One command: timed, every untagged response checked, NO/BAD counted. With
        ``uid_search``, the UIDs found are left in ``self.found``."""
        conn = self.conn
        assert conn is not None
        started = time.perf_counter()
        reply = await self.guarded(
            label, lambda: conn.command(text, keep=True, wait_s=self.config.command_timeout_s)
        )
        self.record(label, started)
        if uid_search:
            before = self.registry.errors.failures()
            self.found = self.view.absorb_uid_search(reply.untagged)
            self.stats.label_errors[label] += self.registry.errors.failures() - before
        else:
            self.absorb(label, reply.untagged)
        self.check_status(label, text, reply)
        return reply

    def absorb(self, label: str, untagged: list[bytes]) -> list[int]:
        """The view's checks of these responses; what fails counts against ``label``."""
        before = self.registry.errors.failures()
        exists = self.view.absorb(untagged)
        self.stats.label_errors[label] += self.registry.errors.failures() - before
        return exists

    def check_status(self, label: str, text: str, reply: Reply) -> None:
        if reply.ok():
            return
        allowed = reply.status == "NO" and bool(ALLOWED_NO.search(reply.text))
        kind = f"{reply.status} to {label}" + (" (expunged meanwhile)" if allowed else "")
        self.fail(label, kind, f"{text[:80]} → {reply.text}", allowed=allowed)

    async def login(self) -> None:
        config = self.config
        account = self.rng.choice(config.accounts)
        started = time.perf_counter()
        try:
            conn = await ImapConnection.open(config.host, config.port, config.command_timeout_s)
        except (OSError, ImapError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.fail("CONNECT", f"connect failed: {describe(exc)[:60]}", describe(exc))
            await asyncio.sleep(RECONNECT_PAUSE_S)
            return
        self.record("CONNECT", started)
        self.conn = conn
        reply = await self.timed("LOGIN", f"LOGIN {quote(account)} {quote(config.password)}")
        if not reply.ok():
            self.drop()
            await asyncio.sleep(RECONNECT_PAUSE_S)
            return
        found = CAPABILITY_IN_TEXT.search(reply.text)
        if found is None:
            capability = await self.timed("CAPABILITY", "CAPABILITY")
            words = b" ".join(capability.untagged).decode("ascii", "replace")
        else:
            words = found.group(1)
        conn.capabilities = frozenset(words.upper().split())
        self.view = SessionView(self.registry, account)
        self.view.owner_slot = self.registry.claim_slot(account, config.owner_slots)

    # ------------------------------------------------------------------ helpers

    async def selected(self, writable: bool) -> bool:
        """A mailbox is selected (read-write if asked): SELECT one first if not."""
        if self.view.mailbox is not None and not (writable and self.view.read_only):
            return True
        await self.do_select()
        return self.view.mailbox is not None

    def seq_range(self, widest: int) -> tuple[int, int] | None:
        count = self.view.count
        if count == 0:
            return None
        first = self.rng.randint(1, count)
        return first, min(count, first + self.rng.randrange(widest))

    async def fetch(self, label: str, widest: int, items: str) -> None:
        if not await self.selected(writable=False):
            return
        span = self.seq_range(widest)
        if span is not None:
            await self.timed(label, f"FETCH {span[0]}:{span[1]} {items}")

    # ------------------------------------------------------------------ the actions

    async def do_list(self) -> None:
        await self.timed("LIST", 'LIST "" "*"')

    async def do_status(self) -> None:
        folder = self.rng.choice(self.config.folders)
        await self.timed("STATUS", f"STATUS {quote(folder)} (MESSAGES UIDNEXT UNSEEN)")

    async def do_select(self, command: str = "SELECT") -> None:
        folder = self.rng.choice(self.config.folders)
        self.view.select(folder, read_only=command == "EXAMINE")
        reply = await self.timed(command, f"{command} {quote(folder)}")
        if not reply.ok():
            self.view.select(None)

    async def do_examine(self) -> None:
        await self.do_select("EXAMINE")

    async def do_fetch_flags(self) -> None:
        await self.fetch("FETCH flags", 20, "(UID FLAGS)")

    async def do_fetch_envelope(self) -> None:
        await self.fetch("FETCH envelope", 10, "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")

    async def do_fetch_body(self) -> None:
        await self.fetch("FETCH BODY.PEEK[]", 3, "(UID BODY.PEEK[])")

    async def do_fetch_text(self) -> None:
        await self.fetch("FETCH BODY[TEXT]", 1, "(UID BODY[TEXT])")

    async def do_store(self) -> None:
        if not await self.selected(writable=True):
            return
        span = self.seq_range(10)
        if span is None:
            return
        flags = self.rng.sample(SHARED_FLAGS, self.rng.randint(1, 2))
        view, mailbox, slot = self.view, self.view.mailbox, self.view.owner_slot
        assert mailbox is not None
        uids = [u for u in view.uids[span[0] - 1 : span[1]] if u is not None]
        # The owner keyword only where every UID is known: a change on a message whose
        # UID this session does not know could not be remembered.
        mine = self.rng.random() < 0.5 and slot is not None and len(uids) == span[1] - span[0] + 1
        if mine and slot is not None:
            flags.append(owner_keyword(slot))
        sign = self.rng.choice("+-")
        for uid in uids if mine else ():
            view.expected.pop((mailbox, uid), None)  # unknown until the answer
        reply = await self.timed(
            "STORE", f"STORE {span[0]}:{span[1]} {sign}FLAGS ({' '.join(flags)})"
        )
        if mine and reply.ok() and self.view is view:
            for uid in uids:
                view.expected[(mailbox, uid)] = sign == "+"

    async def do_expunge(self) -> None:
        if not await self.selected(writable=True):
            return
        view = self.view
        if view.count == 0:
            return
        seqs = sorted({self.rng.randint(1, view.count) for _ in range(self.rng.randint(1, 2))})
        if any(view.uids[s - 1] is None for s in seqs):
            await self.timed("FETCH flags", f"FETCH {','.join(map(str, seqs))} (UID FLAGS)")
        uids = [u for s in seqs if s <= view.count and (u := view.uids[s - 1]) is not None]
        if not uids:
            return
        uid_list = ",".join(map(str, uids))
        marked = await self.timed(
            "STORE \\Deleted", f"UID STORE {uid_list} +FLAGS.SILENT (\\Deleted)"
        )
        await self.timed("EXPUNGE", "EXPUNGE")
        await self.timed("NOOP", "NOOP")
        left = await self.timed("UID SEARCH", f"UID SEARCH UID {uid_list}", uid_search=True)
        if marked.ok() and left.ok() and self.found:
            self.stats.label_errors["UID SEARCH"] += 1
            self.registry.errors.add(
                "marked \\Deleted, still there after EXPUNGE and NOOP",
                f"{view.account} {view.mailbox}: UIDs {compact_ranges(self.found)}",
            )

    async def do_append_small(self) -> None:
        await self.append("APPEND small", self.rng.randint(300, 2000))

    async def do_append_medium(self) -> None:
        await self.append("APPEND medium", self.rng.randint(20_000, 60_000))

    async def append(self, label: str, size: int) -> None:
        conn, view = self.conn, self.view
        assert conn is not None
        folder = self.rng.choice(self.config.folders)
        # Into a mailbox a session of this account sits in IDLE on, if there is one:
        # wake-ups are what is measured of IDLE (the draw above keeps the mix's sequence).
        folder = self.registry.idling.get(view.account, folder)
        self.appended += 1
        message_id = (
            f"<load.{self.config.run_tag}.{self.index}.{self.appended}@bench.mailroom.test>"
        )
        data = message_bytes(view.account, message_id, size)
        flags = self.rng.choice(((), ("\\Seen",), ("\\Seen", "$keyword1")))
        started = time.perf_counter()
        self.registry.last_append_sent[(view.account, folder)] = started
        reply = await self.guarded(
            label,
            lambda: conn.append_one(folder, flags, data, wait_s=self.config.command_timeout_s),
        )
        self.record(label, started)
        self.absorb(label, reply.untagged)
        self.check_status(label, f"APPEND {folder}", reply)
        if not reply.ok():
            return
        found = APPENDUID.search(reply.text)
        if found is None:
            self.fail(label, "APPEND OK without APPENDUID", reply.text)
            return
        before = self.registry.errors.failures()
        self.registry.see_uidvalidity(view.account, folder, int(found.group(1)))
        self.registry.see_message(view.account, folder, int(found.group(2)), message_id)
        self.stats.label_errors[label] += self.registry.errors.failures() - before

    async def do_idle(self) -> None:
        if not await self.selected(writable=False):
            return
        conn, view = self.conn, self.view
        assert conn is not None and view.mailbox is not None
        wait = self.config.command_timeout_s
        tag = conn.next_tag()
        started = time.perf_counter()
        conn.writer.write(f"{tag} IDLE\r\n".encode())
        while True:
            response = await self.guarded("IDLE", lambda: conn.next_response(wait))
            if response.startswith(b"+"):
                break
            if response.startswith(tag.encode() + b" "):
                self.fail("IDLE", "IDLE refused", response.decode(errors="replace"))
                return
            self.absorb("IDLE", [response])
        self.record("IDLE", started)
        self.registry.idling[view.account] = view.mailbox
        before = view.count
        bound = min(started + self.config.idle_bound_s, self.deadline)
        while (left := bound - time.perf_counter()) > 0:
            try:
                response = await conn.next_response(left)
            except TimeoutError:
                break
            except (ImapError, OSError, asyncio.IncompleteReadError) as exc:
                self.fail("IDLE", "connection lost (IDLE)", describe(exc))
                raise Dropped from exc
            if max(self.absorb("IDLE", [response]), default=0) > before:
                sent = self.registry.last_append_sent.get((view.account, view.mailbox), 0.0)
                if sent > started:
                    self.record("IDLE wake-up", sent)
                else:
                    self.stats.counters["IDLE woken, appender unknown"] += 1
                break
        else:
            self.stats.counters["IDLE ended by the bound"] += 1
        if self.registry.idling.get(view.account) == view.mailbox:
            del self.registry.idling[view.account]
        done = time.perf_counter()
        conn.writer.write(b"DONE\r\n")
        reply = await self.guarded("DONE", lambda: conn.read_reply(tag, keep=True, wait_s=wait))
        self.record("DONE", done)
        self.absorb("DONE", reply.untagged)
        self.check_status("DONE", "IDLE … DONE", reply)

    async def do_relogin(self) -> None:
        await self.timed("LOGOUT", "LOGOUT")
        self.drop()
        await self.login()


def message_bytes(account: str, message_id: str, size: int) -> bytes:
    """A plain message of about ``size`` bytes (CRLF), unique by its Message-ID."""
    head = (
        f"From: Load Bench <load@bench.mailroom.test>\r\nTo: {account}\r\n"
        f"Subject: load {message_id}\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    body = FILLER[: max(0, size - len(head))]
    return head + body[: body.rfind(b"\r\n") + 2]
