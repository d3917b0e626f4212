"""Local delivery: a queued message into an account's Maildir, as Postfix's local(8)
would put it there, with Return-Path and Delivered-To, loops and quotas refused."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from mailroom.config.model import MailboxConfig
from mailroom.delivery import LocalDelivery, LocalResult, LocalStatus

MESSAGE = b"From: carol@example.net\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nHello Alice\r\n"


@pytest.fixture
def delivery(tmp_path: Path) -> LocalDelivery:
    return LocalDelivery(MailboxConfig(), tmp_path, "mx.example.org")


@pytest.fixture
def message_file(tmp_path: Path) -> Path:
    path = tmp_path / "queued.msg"
    path.write_bytes(MESSAGE)
    return path


def inbox(tmp_path: Path, address: str = "alice@example.org") -> Path:
    local, domain = address.split("@")
    return tmp_path / "mail" / domain / local / "Maildir"


def stored(tmp_path: Path, address: str = "alice@example.org") -> list[bytes]:
    return [p.read_bytes() for p in sorted((inbox(tmp_path, address) / "new").iterdir())]


async def test_the_first_message_creates_the_mailbox_and_is_delivered(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    result = await delivery.deliver(
        message_file, sender="carol@example.net", recipient="alice@example.org", quota_bytes=None
    )

    assert result.status is LocalStatus.DELIVERED
    assert result.path is not None and result.path.parent == inbox(tmp_path) / "new"
    with_crlf = b"Return-Path: <carol@example.net>\r\nDelivered-To: alice@example.org\r\n" + MESSAGE
    size, virtual_size = len(with_crlf.replace(b"\r\n", b"\n")), len(with_crlf)
    assert result.path.name.endswith(f".mx.example.org,S={size},W={virtual_size}")
    assert result.path.stat().st_size == size


async def test_return_path_and_delivered_to_come_first_with_lf_endings(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    await delivery.deliver(
        message_file,
        sender="carol@example.net",
        recipient="alice@example.org",
        original_recipient="info@example.org",
        quota_bytes=None,
    )

    [content] = stored(tmp_path)
    assert content == (
        b"Return-Path: <carol@example.net>\n"
        b"Delivered-To: info@example.org\n"
        b"From: carol@example.net\nTo: alice@example.org\nSubject: hi\n\nHello Alice\n"
    )


async def test_a_bounce_has_an_empty_return_path(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    await delivery.deliver(message_file, sender="", recipient="alice@example.org", quota_bytes=None)
    assert stored(tmp_path)[0].startswith(b"Return-Path: <>\nDelivered-To: alice@example.org\n")


async def test_delivery_is_logged_after_the_queue_id(
    delivery: LocalDelivery, message_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.delivery")
    await delivery.deliver(
        message_file,
        sender="carol@example.net",
        recipient="alice@example.org",
        original_recipient="info@example.org",
        quota_bytes=None,
        queue_id="1M89DSWJF02G4",
    )
    assert (
        "1M89DSWJF02G4: to=<alice@example.org>, orig_to=<info@example.org>, relay=local, "
        "status=sent (delivered to maildir)"
    ) in caplog.messages


@pytest.mark.parametrize(
    "header",
    [
        b"Delivered-To: alice@example.org\r\n",
        b"delivered-to:   <ALICE@example.org>  \r\n",
        b"Delivered-To:\r\n alice@example.org\r\n",  # folded
    ],
)
async def test_a_message_already_delivered_here_is_a_loop(
    delivery: LocalDelivery, tmp_path: Path, header: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.delivery")
    looping = io.BytesIO(b"Received: from somewhere\r\n" + header + MESSAGE)

    result = await delivery.deliver(
        looping,
        sender="carol@example.net",
        recipient="alice@example.org",
        quota_bytes=None,
        queue_id="1M89DSWJF02G4",
    )

    assert result == LocalResult.permanent_failure(
        "5.4.6 Delivered-To loop: message already delivered to alice@example.org"
    )
    assert not (inbox(tmp_path) / "new").exists() or stored(tmp_path) == []
    assert any(
        m.startswith("1M89DSWJF02G4: to=<alice@example.org>, relay=local, status=bounced (5.4.6")
        for m in caplog.messages
    )


async def test_delivered_to_for_someone_else_or_in_the_body_is_no_loop(
    delivery: LocalDelivery, tmp_path: Path
) -> None:
    message = io.BytesIO(
        b"Delivered-To: bob@example.org\r\nSubject: fwd\r\n\r\nDelivered-To: alice@example.org\r\n"
    )
    result = await delivery.deliver(
        message, sender="bob@example.org", recipient="alice@example.org", quota_bytes=None
    )
    assert result.status is LocalStatus.DELIVERED


async def test_a_full_mailbox_defers_and_stores_nothing(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    first = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=200
    )
    assert first.status is LocalStatus.DELIVERED

    second = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=200
    )

    assert second == LocalResult.temporary_failure("4.2.2 Mailbox full")
    assert len(stored(tmp_path)) == 1
    assert list((inbox(tmp_path) / "tmp").iterdir()) == []
    size = first.path.stat().st_size if first.path else 0
    assert (inbox(tmp_path) / "maildirsize").read_text() == f"200S\n0 0\n{size} 1\n"


async def test_the_configured_default_quota_applies_to_accounts_without_one(
    message_file: Path, tmp_path: Path
) -> None:
    delivery = LocalDelivery(MailboxConfig(default_quota=50), tmp_path, "mx.example.org")
    result = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=None
    )
    assert result == LocalResult.temporary_failure("4.2.2 Mailbox full")

    own_quota = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=10_000
    )
    assert own_quota.status is LocalStatus.DELIVERED


async def test_one_file_serves_several_recipients_each_with_its_own_delivered_to(
    delivery: LocalDelivery, tmp_path: Path
) -> None:
    message = io.BytesIO(MESSAGE)
    for recipient in ("alice@example.org", "bob@example.org"):
        result = await delivery.deliver(
            message, sender="c@example.net", recipient=recipient, quota_bytes=None
        )
        assert result.status is LocalStatus.DELIVERED

    assert stored(tmp_path, "alice@example.org")[0].endswith(b"\n\nHello Alice\n")
    assert b"Delivered-To: bob@example.org\n" in stored(tmp_path, "bob@example.org")[0]
    assert stored(tmp_path, "bob@example.org")[0].endswith(b"\n\nHello Alice\n")
    assert message.tell() == 0


async def test_a_message_for_an_existing_folder_goes_there(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    delivery.mailbox("alice@example.org").create_folder("Lists")
    result = await delivery.deliver(
        message_file,
        sender="c@example.net",
        recipient="alice@example.org",
        quota_bytes=None,
        folder="Lists",
    )
    assert result.path is not None and result.path.parent == inbox(tmp_path) / ".Lists" / "new"
    assert result.reason == "2.0.0 delivered to maildir folder Lists"


@pytest.mark.parametrize("folder", ["Nonexistent", "../../etc"])
async def test_a_missing_or_impossible_folder_falls_back_to_inbox(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path, folder: str
) -> None:
    result = await delivery.deliver(
        message_file,
        sender="c@example.net",
        recipient="alice@example.org",
        quota_bytes=None,
        folder=folder,
    )
    assert result.path is not None and result.path.parent == inbox(tmp_path) / "new"


async def test_a_folder_is_created_when_asked(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    result = await delivery.deliver(
        message_file,
        sender="c@example.net",
        recipient="alice@example.org",
        quota_bytes=None,
        folder="Archive.2026",
        create_folder=True,
    )
    assert result.path is not None
    assert result.path.parent == inbox(tmp_path) / ".Archive.2026" / "new"
    assert (inbox(tmp_path) / ".Archive.2026" / "maildirfolder").exists()


async def test_the_quota_counts_every_folder(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    await delivery.deliver(
        message_file,
        sender="c@example.net",
        recipient="alice@example.org",
        quota_bytes=None,
        folder="Archive",
        create_folder=True,
    )
    result = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=200
    )
    assert result == LocalResult.temporary_failure("4.2.2 Mailbox full")


@pytest.mark.parametrize("recipient", ["../x@example.org", "a/b@example.org", "a\0b@example.org"])
async def test_an_address_that_cannot_name_a_mailbox_is_refused_without_touching_disk(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path, recipient: str
) -> None:
    result = await delivery.deliver(
        message_file, sender="c@example.net", recipient=recipient, quota_bytes=None
    )
    assert result.status is LocalStatus.PERMANENT_FAILURE
    assert not (tmp_path / "mail").exists()


async def test_a_sender_that_would_inject_a_header_is_refused(
    delivery: LocalDelivery, message_file: Path, tmp_path: Path
) -> None:
    result = await delivery.deliver(
        message_file,
        sender="c@example.net>\r\nBcc: <x@example.org",
        recipient="alice@example.org",
        quota_bytes=None,
    )
    assert result.status is LocalStatus.PERMANENT_FAILURE
    assert not (tmp_path / "mail").exists()


async def test_the_legacy_layout(message_file: Path, tmp_path: Path) -> None:
    homes = tmp_path / "home"
    delivery = LocalDelivery(
        MailboxConfig(path_template=f"{homes}/%n/Maildir"), tmp_path / "data", "mx"
    )
    result = await delivery.deliver(
        message_file, sender="c@example.net", recipient="alice@example.org", quota_bytes=None
    )
    assert result.path is not None and result.path.parent == homes / "alice" / "Maildir" / "new"
