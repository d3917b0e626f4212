"""Two processes on one Maildir give every change the same MODSEQ: it is numbered once,
in the shared index, by whichever process makes the change or first finds it on disk,
and the other reads it back (folder_memory.py). Two `MailStore`s in one test process
are two processes for the store: each has its own folders, index connections and
snapshots. Checked with conversations and with a hypothesis state machine that
interleaves APPEND, STORE, EXPUNGE, Dovecot's renames and syncs on both."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Literal, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mailroom.store import Mailbox, MailboxEvents, MailStore
from mailroom.store.filename import INFO_SEPARATOR
from tests.support.search_text import text_of

T = TypeVar("T")


def new_store(name: str) -> MailStore:
    return MailStore(events=MailboxEvents(), search_text=text_of, hostname=name, linger=0)


@pytest.fixture
async def two_inboxes(tmp_path: Path) -> AsyncIterator[tuple[Mailbox, Mailbox]]:
    first, second = new_store("one"), new_store("two")
    ours = await first.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    theirs = await second.account(tmp_path / "Maildir", quota_bytes=None).open("INBOX")
    yield ours, theirs
    await theirs.close()
    await ours.close()
    await second.close()
    await first.close()


def seen(mailbox: Mailbox) -> list[tuple[int, frozenset[str], int]]:
    return [(m.uid, m.flags, m.modseq) for m in mailbox.messages]


async def test_a_flag_change_in_one_process_has_its_modseq_in_the_other(
    two_inboxes: tuple[Mailbox, Mailbox],
) -> None:
    ours, theirs = two_inboxes
    first = await ours.append(b"Subject: one\r\n\r\n1\r\n")
    await ours.append(b"Subject: two\r\n\r\n2\r\n")
    await theirs.sync()
    before = theirs.highestmodseq

    [changed], _ = await ours.store_flags([first.uid], "add", ["\\Flagged"])
    assert await theirs.sync()

    # CHANGEDSINCE in the other process: the one message, with the writer's modseq.
    assert [(m.uid, m.modseq) for m in theirs.changed_since(before)] == [
        (first.uid, changed.modseq)
    ]
    assert theirs.highestmodseq == ours.highestmodseq == changed.modseq
    assert seen(theirs) == seen(ours)


async def test_an_expunge_in_one_process_is_vanished_since_the_same_modseq_in_the_other(
    two_inboxes: tuple[Mailbox, Mailbox],
) -> None:
    ours, theirs = two_inboxes
    kept = await ours.append(b"Subject: kept\r\n\r\n1\r\n")
    gone = await ours.append(b"Subject: gone\r\n\r\n2\r\n", ["\\Deleted"])
    await theirs.sync()
    before = theirs.highestmodseq

    assert await ours.expunge() == [gone.uid]
    assert await theirs.sync()

    assert theirs.vanished_since(before) == ours.vanished_since(before) == [gone.uid]
    assert theirs.vanished_since(ours.highestmodseq) == []
    assert theirs.highestmodseq == ours.highestmodseq > before
    assert [m.uid for m in theirs.messages] == [kept.uid]


async def test_a_change_dovecot_made_is_numbered_once_for_both_processes(
    two_inboxes: tuple[Mailbox, Mailbox],
) -> None:
    ours, theirs = two_inboxes
    message = await ours.append(b"Subject: one\r\n\r\n1\r\n", ["\\Seen"])
    await theirs.sync()
    cur = ours.path / "cur"
    os.rename(cur / message.file_name, cur / f"{message.base_name}{INFO_SEPARATOR}FS")

    assert await theirs.sync()  # the first to find it numbers it
    assert await ours.sync()  # the other reads that back

    [found] = theirs.messages
    assert found.flags == {"\\Seen", "\\Flagged"} and found.modseq > message.modseq
    assert seen(ours) == seen(theirs)
    assert ours.highestmodseq == theirs.highestmodseq == found.modseq


async def test_an_append_in_each_process_gives_rising_modseqs_both_agree_on(
    two_inboxes: tuple[Mailbox, Mailbox],
) -> None:
    ours, theirs = two_inboxes
    first = await ours.append(b"Subject: one\r\n\r\n1\r\n")
    second = await theirs.append(b"Subject: two\r\n\r\n2\r\n")  # without a sync first

    assert second.modseq > first.modseq
    await ours.sync()
    await theirs.sync()
    assert seen(ours) == seen(theirs)
    assert [m.modseq for m in ours.messages] == [first.modseq, second.modseq]
    assert ours.highestmodseq == theirs.highestmodseq == second.modseq


FLAGS = st.sets(st.sampled_from(["\\Seen", "\\Flagged", "\\Deleted", "$Label1", "Junk"]))
DOVECOT_LETTERS = st.sets(st.sampled_from("DFRST")).map(lambda letters: "".join(sorted(letters)))


class TwoProcessesOnOneFolder(RuleBasedStateMachine):
    """APPEND, STORE, EXPUNGE and syncs in two processes, and Dovecot renaming files,
    in any order; whenever both have synced, they agree on every UID, flag and modseq,
    on HIGHESTMODSEQ, and on what changed and vanished since any earlier HIGHESTMODSEQ;
    and no modseq goes down."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory()
        maildir = Path(self.directory.name) / "Maildir"
        self.stores = [new_store("one"), new_store("two")]
        self.inboxes = [
            self.run(store.account(maildir, quota_bytes=None).open("INBOX"))
            for store in self.stores
        ]
        self.marks: list[int] = []
        """HIGHESTMODSEQs both processes showed once they agreed."""
        self.last: dict[int, int] = {}
        """Per UID, the modseq both last agreed on."""
        self.highest: dict[int, int] = {}
        """Per process, the HIGHESTMODSEQ it last showed."""

    def run(self, coroutine: Coroutine[object, object, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        for inbox in self.inboxes:
            self.run(inbox.close())
        for store in self.stores:
            self.run(store.close())
        self.loop.close()
        self.directory.cleanup()

    @rule(side=st.integers(0, 1), flags=FLAGS)
    def append(self, side: int, flags: set[str]) -> None:
        self.run(self.inboxes[side].append(b"Subject: x\r\n\r\nx\r\n", sorted(flags)))

    @precondition(lambda self: any(inbox.messages for inbox in self.inboxes))
    @rule(
        side=st.integers(0, 1),
        pick=st.integers(0, 50),
        mode=st.sampled_from(["set", "add", "remove"]),
        flags=FLAGS,
        unchanged=st.booleans(),
    )
    def store(
        self,
        side: int,
        pick: int,
        mode: Literal["set", "add", "remove"],
        flags: set[str],
        unchanged: bool,
    ) -> None:
        inbox = self.inboxes[side]
        if not inbox.messages:
            return
        message = inbox.messages[pick % len(inbox.messages)]
        since = message.modseq if unchanged else None
        self.run(inbox.store_flags([message.uid], mode, sorted(flags), since))

    @rule(side=st.integers(0, 1))
    def expunge(self, side: int) -> None:
        self.run(self.inboxes[side].expunge())

    @rule(side=st.integers(0, 1))
    def sync(self, side: int) -> None:
        self.run(self.inboxes[side].sync())

    @rule(pick=st.integers(0, 50), letters=DOVECOT_LETTERS)
    def dovecot_renames(self, pick: int, letters: str) -> None:
        cur = self.inboxes[0].path / "cur"
        names = sorted(os.listdir(cur))
        if not names:
            return
        name = names[pick % len(names)]
        base = name.split(INFO_SEPARATOR)[0]
        os.rename(cur / name, cur / f"{base}{INFO_SEPARATOR}{letters}")

    @rule()
    def both_sync_and_agree(self) -> None:
        first, second = self.inboxes
        # Forced: a plain sync trusts a stamp taken in the same clock tick as a rename
        # of Dovecot's for a moment (folder_sync.py). The first finds what it finds
        # and numbers it; the second reads that back.
        for inbox in (first, second):
            self.run(inbox._run(lambda inbox=inbox: inbox._state.sync(force=True)))
        assert seen(first) == seen(second)
        assert first.highestmodseq == second.highestmodseq
        assert all(m.modseq <= first.highestmodseq for m in first.messages)
        for mark in self.marks:
            assert [m.uid for m in first.changed_since(mark)] == [
                m.uid for m in second.changed_since(mark)
            ]
            assert first.vanished_since(mark) == second.vanished_since(mark)
        assert all(mark <= first.highestmodseq for mark in self.marks)
        for message in first.messages:
            assert message.modseq >= self.last.get(message.uid, 0)
            self.last[message.uid] = message.modseq
        self.marks.append(first.highestmodseq)

    @invariant()
    def highestmodseq_never_goes_down_and_no_modseq_is_above_it(self) -> None:
        for side, inbox in enumerate(self.inboxes):
            assert inbox.highestmodseq >= self.highest.get(side, 0)
            self.highest[side] = inbox.highestmodseq
            assert all(m.modseq <= inbox.highestmodseq for m in inbox.messages)


TwoProcessesOnOneFolder.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_two_processes_on_one_folder = TwoProcessesOnOneFolder.TestCase


async def test_a_keyword_new_to_the_folder_is_read_back_by_the_other_process(
    two_inboxes: tuple[Mailbox, Mailbox],
) -> None:
    """The rows read back name keywords by their letters in the file names: a keyword
    another process has just added to `dovecot-keywords` must be known before they are
    read (the load bench saw `$owner2` vanish from FETCH FLAGS in the other worker)."""
    ours, theirs = two_inboxes
    first = await ours.append(b"Subject: one\r\n\r\n1\r\n")
    await theirs.sync()

    [changed], _ = await ours.store_flags([first.uid], "add", ["$new", "\\Seen"])
    assert "$new" in changed.flags
    # The other process's next change reads the row back first, then renames the file.
    await theirs.store_flags([first.uid], "add", ["\\Flagged"])
    await ours.sync()
    assert seen(ours) == seen(theirs)
    assert {"$new", "\\Seen", "\\Flagged"} <= set(ours.messages[0].flags)
