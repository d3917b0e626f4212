"""After `mailroom import legacy`, the host serves the legacy members as the legacy host
did: logins with bare user names and with full addresses, mail to a `fullnamealias` and
to an /etc/aliases alias lands in the legacy Maildir, and a member sends as the alias the
legacy `aliases` table let them send from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from mailroom import app
from mailroom.config import Config, load_config
from tests.legacy.conftest import LegacyHost
from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk
from tests.support.incoming_mail import MESSAGE
from tests.support.installation import mailroom_process
from tests.support.mail_host import client_tls, start_internet, write_config

PASSWORD = "secret"  # the legacy documentation's example password


async def _imported_host(root: Path, legacy_host: LegacyHost) -> AsyncIterator[app.RunningHost]:
    """The import run on a fresh installation whose config has the lines the import
    printed, then the host serving it."""
    root.mkdir(parents=True)
    maps = root / "data" / "legacy"
    async for internet in start_internet():
        settings = {
            **internet.settings(),
            '# default_domain = "example.org"': 'default_domain = "cacert.org"',
            '# path_template = "mail/%d/%n/Maildir"': f'path_template = "{legacy_host.maildirs}"',
            '# rewrite_maps = ["/etc/mailroom/arbitration"]': (
                f'rewrite_maps = ["{maps / "arbitration"}"]'
            ),
            '# recipient_bcc_maps = ["/etc/mailroom/recipient-bcc"]': (
                f'recipient_bcc_maps = ["{maps / "cacert-inc-bcc"}"]'
            ),
        }
        path = write_config(root, settings, IMAP_LISTENERS)
        result = await asyncio.to_thread(
            mailroom_process, "-c", str(path), *legacy_host.import_args()
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Add to the config file" not in result.stdout  # the config has every line
        async for running in _serving(load_config(path)):
            yield running


async def _serving(config: Config) -> AsyncIterator[app.RunningHost]:
    ready: asyncio.Future[app.RunningHost] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def started(running: app.RunningHost) -> None:
        ready.set_result(running)

    task = asyncio.create_task(app.serve(config, lambda line: None, started=started, stop=stop))
    done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong at start
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


@pytest.fixture
async def host(tmp_path: Path, legacy_host: LegacyHost) -> AsyncIterator[app.RunningHost]:
    async for running in _imported_host(tmp_path / "mailroom", legacy_host):
        yield running


def _inbox(legacy_host: LegacyHost, user: str) -> list[bytes]:
    maildir = Path(legacy_host.maildirs.replace("%n", user))
    return [p.read_bytes() for sub in ("new", "cur") for p in sorted((maildir / sub).iterdir())]


@pytest.mark.parametrize("login", ["jdoe", "jdoe@cacert.org", "john.doe@cacert.org"])
async def test_the_legacy_password_logs_in(host: app.RunningHost, login: str) -> None:
    talk = await ImapTalk.open(host.port("imaps"), tls=client_tls())
    try:
        reply = await talk.command(f'LOGIN {login} "{PASSWORD}"')
        assert reply.ok, reply.tagged
    finally:
        await talk.close()


async def test_a_wrong_password_is_still_refused(host: app.RunningHost) -> None:
    talk = await ImapTalk.open(host.port("imaps"), tls=client_tls())
    try:
        reply = await talk.command('LOGIN jdoe "not the secret"')
        assert reply.status == "NO"
    finally:
        await talk.close()


async def _send(host: app.RunningHost, recipients: list[str]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=host.port("smtp"), start_tls=False)
    await client.connect()
    try:
        errors, _ = await client.sendmail("carol@outside.example", recipients, MESSAGE)
        assert errors == {}
    finally:
        await client.quit()
    await host.dispatcher.settled()


async def test_mail_to_the_fullnamealias_lands_in_the_legacy_maildir(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _send(host, ["john.doe@cacert.org"])
    (message,) = _inbox(legacy_host, "jdoe")
    assert b"Hi there." in message


async def test_mail_to_an_etc_aliases_alias_reaches_every_member(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _send(host, ["board@cacert.org"])
    assert len(_inbox(legacy_host, "jdoe")) == 1
    assert len(_inbox(legacy_host, "asmith")) == 1


async def test_mail_to_postmaster_follows_the_aliases_chain(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _send(host, ["postmaster@cacert.org"])  # postmaster: root, root: jdoe
    assert len(_inbox(legacy_host, "jdoe")) == 1


async def _submit(host: app.RunningHost, login: str, sender: str) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=host.port("submission"),
        start_tls=True,
        tls_context=client_tls(),
    )
    await client.connect()
    try:
        await client.login(login, PASSWORD)
        await client.sendmail(sender, ["asmith@cacert.org"], MESSAGE)
    finally:
        await client.quit()


async def test_a_member_sends_as_the_alias_the_aliases_table_granted(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _submit(host, "jdoe", "pr@cacert.org")
    await host.dispatcher.settled()
    assert len(_inbox(legacy_host, "asmith")) == 1


async def test_another_member_may_not_send_as_that_alias(host: app.RunningHost) -> None:
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await _submit(host, "asmith", "pr@cacert.org")
    assert refused.value.code == 553


async def test_the_copied_arbitration_map_rewrites_as_postfix_did(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _send(host, ["deleted-someone@cacert.org"])  # arbitration: → board@cacert.org
    assert len(_inbox(legacy_host, "jdoe")) == 1
    assert len(_inbox(legacy_host, "asmith")) == 1


async def test_the_copied_bcc_map_copies_as_postfix_did(
    host: app.RunningHost, legacy_host: LegacyHost
) -> None:
    await _send(host, ["pr@cacert.org"])  # pr → jdoe; cacert-inc-bcc: pr → asmith
    assert len(_inbox(legacy_host, "jdoe")) == 1
    assert len(_inbox(legacy_host, "asmith")) == 1
