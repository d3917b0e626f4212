"""A whole host, set up and run as an administrator does, with its directory on each
engine: a SQLite file, and a fresh database on the MariaDB and PostgreSQL test servers
(`database_url` creates and drops it).

On the empty database, before any `serve`, the `mailroom` commands create the schema and
the accounts (domain, users, an extra address, a send-as alias); then `mailroom serve`
runs as a separate process and real clients talk to it: SMTP from outside (smtplib),
submission with AUTH and a send-as check, mail leaving for another host, IMAP (imaplib)
and POP3 (poplib). The second test changes the directory with the commands while the
server runs (a new account, a password, a disabled account, a new alias): each change
reaches the server through the engine alone (the directory's version counter).

tests/mailhost/test_directory_engines.py runs the in-process host on each engine (login
cache, throttle); the rest of the whole-host suite runs on SQLite. Two tests per engine,
to keep the suite's time small.
"""

from __future__ import annotations

import asyncio
import email.parser
import imaplib
import poplib
import smtplib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom.config.example import ListenerExample
from tests.support.installation import Outcome, invoke
from tests.support.mail_host import (
    LISTENERS,
    Internet,
    client_tls,
    directory_settings,
    start_internet,
    write_config,
)
from tests.support.processes import until
from tests.support.server_process import start_server
from tests.support.service_process import pin_ports

PASSWORD = "a passphrase for every engine"
NEW_PASSWORD = "another passphrase, changed"
ENGINE_LISTENERS = (
    *LISTENERS,
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)


@dataclass
class ServedHost:
    config: Path
    ports: dict[str, int]
    internet: Internet

    def maildir(self, address: str) -> Path:
        local, domain = address.split("@")
        return self.config.parent / "data" / "mail" / domain / local / "Maildir"

    def subjects(self, address: str) -> list[str]:
        """The Subjects in an account's INBOX, sorted."""
        maildir = self.maildir(address)
        parser = email.parser.BytesHeaderParser()
        return sorted(
            str(parser.parsebytes(path.read_bytes())["Subject"])
            for sub in ("new", "cur")
            if (maildir / sub).is_dir()
            for path in (maildir / sub).iterdir()
        )

    async def command(self, *args: str, stdin: str | None = None) -> Outcome:
        """A `mailroom` command against this host's config (in a thread: the CLI runs
        its own event loop)."""
        outcome = await asyncio.to_thread(invoke, "-c", str(self.config), *args, stdin=stdin)
        assert outcome.returncode == 0, outcome.stdout + outcome.stderr
        return outcome


def host_config(root: Path, internet: Internet, directory_url: str) -> Path:
    """The config with the directory at `directory_url`."""
    root.mkdir(parents=True)
    settings = {**internet.settings(), **directory_settings(directory_url)}
    return write_config(root, settings, ENGINE_LISTENERS)


async def start_on_free_ports(config: Path) -> tuple[asyncio.subprocess.Process, dict[str, int]]:
    """`mailroom serve` with every listener on a port chosen now (`pin_ports`); chosen
    again (up to three times) when another program took one before the server bound it."""
    for _ in range(2):
        ports = pin_ports(config)
        try:
            return await start_server(config), ports
        except AssertionError:
            if "address already in use" not in (config.parent / "serve.log").read_text():
                raise
    ports = pin_ports(config)
    return await start_server(config), ports


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[ServedHost]:
    async for internet in start_internet():
        config = host_config(tmp_path / "host", internet, database_url)
        host = ServedHost(config, {}, internet)
        # The empty database: every command creates the schema as serve would.
        await host.command("domain", "add", "example.test")
        for user in ("alice", "bob"):
            await host.command(
                "user", "add", f"{user}@example.test", "--password-stdin", stdin=PASSWORD
            )
        await host.command("address", "add", "alice@example.test", "alice.liddell@example.test")
        await host.command(
            "alias",
            "add",
            "pr@example.test",
            "alice@example.test",
            "bob@example.test",
            "--send-as",
            "alice@example.test",
        )
        process, host.ports = await start_on_free_ports(config)
        try:
            yield host
        finally:
            process.terminate()
            await process.wait()


def mail(subject: str, sender: str = "carol@outside.example") -> bytes:
    return f"From: {sender}\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()


def receive(host: ServedHost, recipients: dict[str, str]) -> None:
    """Mail from outside to each recipient (Subject: its value), STARTTLS on port 25's
    listener."""
    with smtplib.SMTP("127.0.0.1", host.ports["smtp"], timeout=30) as client:
        client.starttls(context=client_tls())
        for recipient, subject in recipients.items():
            assert client.sendmail("carol@outside.example", [recipient], mail(subject)) == {}


def wait_until_accepted(host: ServedHost, recipients: list[str]) -> None:
    """Ask RCPT TO until the server accepts every recipient: routing sees the directory
    again at most once per second (routing/snapshot.py), so a command's change reaches
    it a moment later. A new connection each time (the server hangs up on a client
    with too many refused recipients). AssertionError after 30 s (a bound on a hang)."""
    for _ in range(150):
        with smtplib.SMTP("127.0.0.1", host.ports["smtp"], timeout=30) as client:
            client.ehlo()
            assert client.mail("carol@outside.example")[0] == 250
            if [client.rcpt(each)[0] for each in recipients] == [250] * len(recipients):
                return
        time.sleep(0.2)
    raise AssertionError(f"{recipients} never accepted")


def submit(host: ServedHost, login: str, password: str, sender: str, recipients: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", host.ports["submission"], timeout=30) as client:
        client.starttls(context=client_tls())
        client.login(login, password)
        assert client.sendmail(sender, recipients, mail(f"from {sender}", sender)) == {}


def imap_login(host: ServedHost, user: str, password: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", host.ports["imaps"], ssl_context=client_tls())
    client.login(user, password)
    return client


def imap_refuses(host: ServedHost, user: str, password: str) -> bool:
    client = imaplib.IMAP4_SSL("127.0.0.1", host.ports["imaps"], ssl_context=client_tls())
    try:
        client.login(user, password)
    except imaplib.IMAP4.error:
        return True
    finally:
        client.shutdown()
    return False


async def test_mail_in_out_and_read_over_imap_and_pop3(served: ServedHost) -> None:
    await asyncio.to_thread(
        receive,
        served,
        {
            "alice@example.test": "to alice",
            "alice.liddell@example.test": "to alice's extra address",
            "pr@example.test": "to the pr alias",  # alice and bob
        },
    )
    await asyncio.to_thread(
        submit,
        served,
        "alice@example.test",
        PASSWORD,
        "pr@example.test",  # the alias alice may send as
        ["bob@example.test", "friend@outside.example"],
    )
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await asyncio.to_thread(
            submit, served, "bob@example.test", PASSWORD, "pr@example.test", ["alice@example.test"]
        )
    assert refused.value.smtp_code == 553

    await until(lambda: len(served.subjects("alice@example.test")) >= 3, what="alice's mail")
    await until(lambda: len(served.subjects("bob@example.test")) >= 2, what="bob's mail")
    await until(lambda: served.internet.mx.received, what="mail to outside.example")
    assert served.subjects("alice@example.test") == [
        "to alice",
        "to alice's extra address",
        "to the pr alias",
    ]
    assert served.subjects("bob@example.test") == ["from pr@example.test", "to the pr alias"]
    (outside,) = served.internet.mx.received
    assert (outside.mail_from, outside.rcpt_tos) == ("pr@example.test", ["friend@outside.example"])

    def read_alice() -> tuple[bytes, list[bytes]]:
        client = imap_login(served, "alice@example.test", PASSWORD)
        try:
            status, exists = client.select("INBOX")
            assert status == "OK"
            assert client.create("Projects")[0] == "OK"
            assert client.uid("COPY", "1:2", "Projects")[0] == "OK"
            assert client.uid("STORE", "3", "+FLAGS", "(\\Flagged)")[0] == "OK"
            status, projects = client.select("Projects", readonly=True)
            assert status == "OK"
            return exists[0] or b"", projects
        finally:
            client.logout()

    exists, projects = await asyncio.to_thread(read_alice)
    assert (exists, projects) == (b"3", [b"2"])

    def pop_bob() -> tuple[list[bytes], int]:
        client = poplib.POP3_SSL("127.0.0.1", served.ports["pop3s"], context=client_tls())
        try:
            client.user("bob@example.test")
            client.pass_(PASSWORD)
            _, uidls, _ = client.uidl()
            _, lines, _ = client.retr(1)
            assert any(line.startswith(b"Subject: ") for line in lines)
            client.dele(1)
        finally:
            client.quit()
        return uidls, len(served.subjects("bob@example.test"))

    uidls, left = await asyncio.to_thread(pop_bob)
    assert [line.split()[0] for line in uidls] == [b"1", b"2"]
    assert left == 1


async def test_changes_made_with_the_commands_reach_the_running_server(
    served: ServedHost,
) -> None:
    await served.command("user", "add", "carol@example.test", "--password-stdin", stdin=PASSWORD)
    await served.command("alias", "add", "team@example.test", "carol@example.test")
    recipients = ["carol@example.test", "team@example.test"]
    await asyncio.to_thread(wait_until_accepted, served, recipients)
    await asyncio.to_thread(
        receive, served, {"carol@example.test": "to carol", "team@example.test": "to the team"}
    )
    await until(lambda: len(served.subjects("carol@example.test")) >= 2, what="carol's mail")
    assert served.subjects("carol@example.test") == ["to carol", "to the team"]
    client = await asyncio.to_thread(imap_login, served, "carol@example.test", PASSWORD)
    await asyncio.to_thread(client.logout)

    await served.command(
        "user", "passwd", "carol@example.test", "--password-stdin", stdin=NEW_PASSWORD
    )
    assert await asyncio.to_thread(imap_refuses, served, "carol@example.test", PASSWORD)
    client = await asyncio.to_thread(imap_login, served, "carol@example.test", NEW_PASSWORD)
    await asyncio.to_thread(client.logout)

    await served.command("user", "disable", "bob@example.test")
    assert await asyncio.to_thread(imap_refuses, served, "bob@example.test", PASSWORD)
