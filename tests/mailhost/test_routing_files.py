"""The legacy host's Postfix map files, served as they are: /etc/aliases, the
`arbitration` regexp rewrites, and recipient BCC maps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from tests.support.mail_host import MailHost, start_host

ALIASES = """\
# /etc/aliases of the legacy host
postmaster: root
root: alice
tracker: tracker@lists.example.test
"""

ARBITRATION = r"""
# Deleted accounts go to support
/^deleted-[0-9]+@example\.test$/    bob+deletedaccounts@example.test
"""

BCC = """\
pr@example.test    bob@example.test
bob@example.test   alice@example.test
"""

MESSAGE = b"From: carol@outside.example\r\nSubject: maps\r\n\r\nBody.\r\n"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    root = tmp_path / "host"
    root.mkdir()
    (root / "aliases").write_text(ALIASES)
    (root / "arbitration").write_text(ARBITRATION)
    (root / "recipient-bcc").write_text(BCC)
    settings = {
        '# aliases_file = "/etc/aliases"': 'aliases_file = "aliases"',
        '# rewrite_maps = ["/etc/mailroom/arbitration"]': 'rewrite_maps = ["arbitration"]',
        '# recipient_bcc_maps = ["/etc/mailroom/recipient-bcc"]': (
            'recipient_bcc_maps = ["recipient-bcc"]'
        ),
    }
    async for running in start_host(root, settings):
        yield running


async def send(host: MailHost, recipient: str) -> None:
    await aiosmtplib.send(
        MESSAGE,
        sender="carol@outside.example",
        recipients=[recipient],
        hostname="127.0.0.1",
        port=host.port("smtp"),
        start_tls=False,
    )


async def test_an_aliases_file_entry_applies_to_every_local_domain(host: MailHost) -> None:
    await send(host, "postmaster@example.test")  # postmaster -> root -> alice
    (message,) = await host.delivered("alice@example.test")
    assert b"Delivered-To: alice@example.test\n" in message


async def test_an_aliases_file_entry_may_forward_to_a_relay_domain(host: MailHost) -> None:
    await send(host, "tracker@example.test")
    await host.running.dispatcher.settled()
    (entry,) = await host.running.services.queue.entries()
    assert entry.envelope.recipients[0].address == "tracker@lists.example.test"


async def test_a_regexp_rewrite_sends_deleted_accounts_to_support(host: MailHost) -> None:
    await send(host, "deleted-1234@example.test")
    assert len(await host.delivered("bob@example.test")) == 1


async def test_a_bcc_map_copies_mail_for_an_address(host: MailHost) -> None:
    await send(host, "pr@example.test")  # pr -> alice, bob; and a BCC copy to bob
    assert len(await host.delivered("alice@example.test")) == 1
    assert len(await host.delivered("bob@example.test")) == 1  # one copy, not two


async def test_a_bcc_map_sends_a_copy_to_another_account(host: MailHost) -> None:
    await send(host, "bob@example.test")
    assert len(await host.delivered("bob@example.test")) == 1
    assert len(await host.delivered("alice@example.test")) == 1


async def test_a_broken_map_file_refuses_to_start_naming_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "arbitration").write_text("/^ok$/ a@example.test\n/unclosed( b@example.test\n")
    from mailroom.routing import MapFileError

    setting = {'# rewrite_maps = ["/etc/mailroom/arbitration"]': 'rewrite_maps = ["arbitration"]'}
    with pytest.raises(MapFileError, match=r"arbitration:2: "):
        async for _ in start_host(root, setting):
            pass
