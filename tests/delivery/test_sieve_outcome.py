"""Carrying out what a Sieve run decided, with hand-built outcomes (plain values), through
the real store and the real queue: fileinto with flags and keywords, `:create`, the INBOX
fallback, one copy per folder, editheader's header, discard, redirect with an SRS sender
and a Delivered-To trace, reject and ereject, vacation once per period, duplicate marks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom.config.model import MailboxConfig
from mailroom.config.sieve import SieveConfig
from mailroom.delivery import LocalDelivery, LocalResult, LocalStatus
from mailroom.delivery.local import LocalRequest
from mailroom.delivery.sieve_delivery import SieveDelivery, SieveSettings
from mailroom.delivery.sieve_memory import SieveMemory
from mailroom.delivery.sieve_sending import SieveMail
from mailroom.delivery.srs import SrsRewriter
from mailroom.queue import MailQueue, QueueEntry
from mailroom.sieve.actions import (
    Action,
    Discard,
    DuplicateMark,
    FileInto,
    HeaderChange,
    Keep,
    Outcome,
    Redirect,
    Reject,
    VacationReply,
)
from mailroom.sieve.context import RunContext

HOST = "mx.example.org"
NOW = 1_800_000_000.0
MESSAGE = (
    b"Received: from client by mx.example.org\r\n"
    b"From: Carol <carol@example.net>\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: the plan\r\n"
    b"Message-ID: <plan@example.net>\r\n"
    b"\r\n"
    b"Hello Alice\r\n"
)


class NoInterpreter:
    """These tests hand over outcomes: no script is compiled or run."""

    def compile(self, source: bytes, name: str) -> object | str:
        raise AssertionError("no script is compiled here")

    def run(self, scripts: Sequence[object], context: RunContext) -> Outcome:
        raise AssertionError("no script is run here")


@dataclass
class Delivery:
    root: Path
    queue: MailQueue
    local: LocalDelivery
    sieve: SieveDelivery[object]
    message: Path

    async def carry_out(
        self, *actions: Action, sender: str = "carol@example.net", **outcome: object
    ) -> LocalResult:
        request = LocalRequest(
            message=self.message,
            sender=sender,
            recipient="alice@example.org",
            original="alice@example.org",
            quota_bytes=None,
            folder="INBOX",
            create_folder=False,
            queue_id="4XyZ1",
        )
        done = Outcome(tuple(actions), **outcome)  # type: ignore[arg-type]
        return await self.sieve.carry_out(self.local, request, done)

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "example.org" / "alice" / "Maildir"

    def files(self, folder: str = "") -> list[Path]:
        base = self.maildir / folder if folder else self.maildir
        return sorted(p for sub in ("new", "cur") for p in (base / sub).glob("*"))

    async def queued(self) -> list[QueueEntry]:
        return await self.queue.entries()


@pytest.fixture
async def delivery(tmp_path: Path) -> AsyncIterator[Delivery]:
    message = tmp_path / "queued.msg"
    message.write_bytes(MESSAGE)
    async with MailQueue(tmp_path / "queue") as queue:
        srs = SrsRewriter([b"test secret"], HOST, clock=lambda: NOW)
        mail = SieveMail(queue, hostname=HOST, srs=srs, clock=lambda: NOW)
        settings = SieveSettings(SieveConfig(), MailboxConfig(), tmp_path, HOST)
        sieve = SieveDelivery[object](NoInterpreter(), settings, mail, clock=lambda: NOW)
        local = LocalDelivery(MailboxConfig(), tmp_path, HOST, filter=sieve)
        yield Delivery(tmp_path, queue, local, sieve, message)


def make_folder(delivery: Delivery, directory: str) -> None:
    for sub in ("cur", "new", "tmp"):
        (delivery.maildir / directory / sub).mkdir(parents=True, exist_ok=True)


async def test_fileinto_stores_in_the_folder_with_its_flags_and_keywords(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    make_folder(delivery, ".Lists")
    caplog.set_level(logging.INFO, "mailroom.delivery")
    result = await delivery.carry_out(FileInto("Lists", flags=("\\Seen", "$label1", "\\Flagged")))

    assert result.status is LocalStatus.DELIVERED
    [stored] = delivery.files(".Lists")
    assert stored.parent.name == "cur" and stored.name.endswith(":2,FSa")
    assert (delivery.maildir / ".Lists" / "dovecot-keywords").read_text() == "0 $label1\n"
    assert stored.read_bytes().endswith(MESSAGE.replace(b"\r\n", b"\n"))
    assert delivery.files() == []
    assert (
        "4XyZ1: to=<alice@example.org>, relay=local, status=sent "
        "(delivered to maildir folder Lists by sieve)"
    ) in caplog.messages


async def test_a_missing_folder_falls_back_to_inbox(delivery: Delivery) -> None:
    result = await delivery.carry_out(FileInto("Nowhere"))
    assert result.reason == "2.0.0 delivered to maildir by sieve"
    assert len(delivery.files()) == 1
    assert not (delivery.maildir / ".Nowhere").exists()


async def test_create_makes_the_missing_folder(delivery: Delivery) -> None:
    await delivery.carry_out(FileInto("Lists/Python", create=True))
    # The IMAP separator is "." by default: "/" cannot be part of a name, so INBOX.
    assert len(delivery.files()) == 1
    await delivery.carry_out(FileInto("Lists.Python", create=True))
    assert (delivery.maildir / ".Lists.Python" / "maildirfolder").exists()
    assert len(delivery.files(".Lists.Python")) == 1


async def test_the_same_folder_twice_is_one_copy_with_both_flags(delivery: Delivery) -> None:
    result = await delivery.carry_out(
        FileInto("INBOX", flags=("\\Seen",)), Keep(flags=("\\Flagged",)), FileInto("Missing")
    )
    [stored] = delivery.files()
    assert stored.name.endswith(":2,FS")
    assert result.reason == "2.0.0 delivered to maildir by sieve"


async def test_fileinto_and_keep_store_two_copies(delivery: Delivery) -> None:
    make_folder(delivery, ".Lists")
    result = await delivery.carry_out(FileInto("Lists", copy=True), Keep(implicit=True))
    assert len(delivery.files(".Lists")) == 1 and len(delivery.files()) == 1
    assert result.reason == "2.0.0 delivered to maildir folders Lists, INBOX by sieve"


async def test_flags_that_cannot_be_stored_are_dropped_not_the_message(delivery: Delivery) -> None:
    await delivery.carry_out(Keep(flags=("\\Bogus", "not(valid", "\\Recent", "\\Answered")))
    [stored] = delivery.files()
    assert stored.name.endswith(":2,R")


async def test_editheader_changes_what_is_stored(delivery: Delivery) -> None:
    fields = (("X-Spam", b"yes"), ("From", b"Carol <carol@example.net>"))
    header = HeaderChange((*fields, ("Subject", b"[spam] the plan")))
    await delivery.carry_out(Keep(header=header))
    [stored] = delivery.files()
    assert stored.read_bytes() == (
        b"Return-Path: <carol@example.net>\nDelivered-To: alice@example.org\n"
        b"X-Spam: yes\nFrom: Carol <carol@example.net>\nSubject: [spam] the plan\n"
        b"\nHello Alice\n"
    )


async def test_discard_stores_nothing_and_says_so(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mailroom.delivery")
    result = await delivery.carry_out(Discard())
    assert result.status is LocalStatus.DELIVERED and result.path is None
    assert delivery.files() == [] and await delivery.queued() == []
    assert any(m.endswith("status=sent (discarded by sieve)") for m in caplog.messages)


async def test_redirect_is_queued_unchanged_from_an_srs_sender(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mailroom.delivery")
    result = await delivery.carry_out(Redirect("bob@outside.example"))

    assert delivery.files() == []
    [entry] = await delivery.queued()
    assert entry.envelope.sender.startswith("SRS0=")
    assert entry.envelope.sender.endswith("=example.net=carol@mx.example.org")
    assert [r.address for r in entry.envelope.recipients] == ["bob@outside.example"]
    queued = delivery.queue.message_path(entry.queue_id).read_bytes()
    assert queued == b"Delivered-To: alice@example.org\r\n" + MESSAGE
    assert f"redirected to <bob@outside.example> by sieve as {entry.queue_id}" in result.reason
    assert any("redirected to <bob@outside.example> by sieve" in m for m in caplog.messages)


async def test_a_redirected_bounce_keeps_the_null_sender(delivery: Delivery) -> None:
    await delivery.carry_out(Redirect("bob@outside.example"), sender="")
    [entry] = await delivery.queued()
    assert entry.envelope.sender == ""


async def test_the_same_redirect_twice_is_sent_once(delivery: Delivery) -> None:
    await delivery.carry_out(
        Redirect("bob@outside.example"), Redirect("BOB@outside.example", copy=True), Keep()
    )
    assert len(await delivery.queued()) == 1
    assert len(delivery.files()) == 1


async def test_redirects_past_max_redirects_are_not_sent(delivery: Delivery) -> None:
    redirects = [Redirect(f"r{n}@outside.example") for n in range(10)]
    await delivery.carry_out(*redirects)
    assert len(await delivery.queued()) == SieveConfig().max_redirects


async def test_redirect_with_an_edited_header_sends_that_header(delivery: Delivery) -> None:
    header = HeaderChange((("Subject", b"fwd: the plan"),))
    await delivery.carry_out(Redirect("bob@outside.example", header=header))
    [entry] = await delivery.queued()
    assert delivery.queue.message_path(entry.queue_id).read_bytes() == (
        b"Delivered-To: alice@example.org\r\nSubject: fwd: the plan\r\n\r\nHello Alice\r\n"
    )


async def test_reject_is_a_permanent_failure_with_the_reason(delivery: Delivery) -> None:
    result = await delivery.carry_out(Reject("I do not\r\nwant this"))
    assert result.status is LocalStatus.PERMANENT_FAILURE
    assert result.reason == "5.7.1 I do not want this"
    assert not result.smtp_refusal
    assert delivery.files() == [] and await delivery.queued() == []


async def test_ereject_asks_to_be_refused_in_the_smtp_transaction(delivery: Delivery) -> None:
    result = await delivery.carry_out(Reject("no thanks", extended=True))
    assert result.status is LocalStatus.PERMANENT_FAILURE and result.smtp_refusal


async def test_reject_of_a_bounce_tells_nobody_and_discards_it(delivery: Delivery) -> None:
    result = await delivery.carry_out(Reject("no thanks"), sender="")
    assert result.status is LocalStatus.DELIVERED
    assert delivery.files() == [] and await delivery.queued() == []


def vacation(**changes: object) -> VacationReply:
    values: dict[str, object] = {
        "sender": "carol@example.net",
        "handle": "away",
        "period_seconds": 7 * 86400,
        "from_address": "alice@example.org",
        "subject": "Auto: the plan",
        "reason": "I am away until Monday.",
        "in_reply_to": "<plan@example.net>",
        "references": "<plan@example.net>",
    }
    return VacationReply(**{**values, **changes})  # type: ignore[arg-type]


async def test_vacation_answers_the_envelope_sender_from_the_null_sender_once(
    delivery: Delivery,
) -> None:
    first = await delivery.carry_out(Keep(implicit=True), vacation())
    [entry] = await delivery.queued()
    assert entry.envelope.sender == ""
    assert [r.address for r in entry.envelope.recipients] == ["carol@example.net"]
    reply = delivery.queue.message_path(entry.queue_id).read_bytes()
    assert b"\r\nAuto-Submitted: auto-replied\r\n" in reply
    assert b"\r\nIn-Reply-To: <plan@example.net>\r\n" in reply
    assert reply.endswith(b"\r\n\r\nI am away until Monday.\r\n")
    assert f"vacation reply to <carol@example.net> as {entry.queue_id}" in first.reason

    await delivery.carry_out(Keep(implicit=True), vacation())
    assert len(await delivery.queued()) == 1
    await delivery.carry_out(Keep(implicit=True), vacation(handle="other"))
    assert len(await delivery.queued()) == 2
    assert len(delivery.files()) == 3


async def test_duplicate_marks_are_recorded_after_delivery(delivery: Delivery) -> None:
    mark = DuplicateMark("", "<plan@example.net>", 3600)
    await delivery.carry_out(Keep(implicit=True), duplicate_marks=(mark,))
    with SieveMemory(delivery.maildir, clock=lambda: NOW) as memory:
        assert memory.seen("", "<plan@example.net>")


async def test_no_duplicate_mark_when_the_delivery_is_deferred(delivery: Delivery) -> None:
    delivery.local.config = MailboxConfig(default_quota=10)
    mark = DuplicateMark("", "<plan@example.net>", 3600)
    result = await delivery.carry_out(Keep(implicit=True), duplicate_marks=(mark,))
    assert result.reason == "4.2.2 Mailbox full"
    with SieveMemory(delivery.maildir, clock=lambda: NOW) as memory:
        assert not memory.seen("", "<plan@example.net>")


async def test_a_full_mailbox_defers_before_any_redirect_leaves(delivery: Delivery) -> None:
    delivery.local.config = MailboxConfig(default_quota=10)
    result = await delivery.carry_out(Keep(), Redirect("bob@outside.example"))
    assert result.status is LocalStatus.TEMPORARY_FAILURE
    assert await delivery.queued() == []


async def test_a_message_that_looped_back_is_refused_before_any_action(
    delivery: Delivery,
) -> None:
    delivery.message.write_bytes(b"Delivered-To: alice@example.org\r\n" + MESSAGE)
    result = await delivery.carry_out(Redirect("bob@outside.example"))
    assert result.reason.startswith("5.4.6 Delivered-To loop")
    assert await delivery.queued() == []
