"""A whole Mailroom host in the test's event loop, on ephemeral 127.0.0.1 ports: the real
`serve` with its listeners, queue and delivery, a real directory (a SQLite file, or a
database on the MariaDB or PostgreSQL test server: see `directory_url`), real TLS."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller

from mailroom import app
from mailroom.config import Config, load_config
from mailroom.config.example import ListenerExample, example_config_text
from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
from mailroom.net.certificates import write_self_signed_certificate
from tests.support.dns_server import DnsServer, start_dns_server
from tests.support.smtp_receiver import Receiver

PASSWORD = "correct horse battery"

SHIPPED_DIRECTORY_URL = 'url = "sqlite:///directory.sqlite3"'

LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("submission", "submission", 0, "starttls"),
    ListenerExample("smtps", "submission", 0, "implicit"),
)

# Cheap hashing and no penalty delays, so tests run fast; everything else as shipped.
TEST_SETTINGS = {
    "# time_cost = 3": "time_cost = 1",
    "# memory_kib = 65536": "memory_kib = 64",
    "# parallelism = 4": "parallelism = 1",
    "# delay_base_seconds = 1.0": "delay_base_seconds = 0",
    # Never the machine's DNS servers: the test's own, on loopback (see `Internet`).
    "# nameservers = []": 'nameservers = ["127.0.0.1"]',
}

# The outside world's DNS: outside.example's MX is the test's receiving server.
OUTSIDE_RECORDS = {
    "outside.example": {"MX": ["10 mx.outside.example."]},
    "mx.outside.example": {"A": ["127.0.0.1"]},
}


@dataclass
class Internet:
    """Everything beyond our host, on loopback: a DNS server and outside.example's MX
    (an aiosmtpd server that keeps what it receives)."""

    dns: DnsServer
    mx: Receiver
    smtp_port: int

    def settings(self) -> dict[str, str]:
        return {
            "# dns_port = 53": f"dns_port = {self.dns.port}",
            "# smtp_port = 25": f"smtp_port = {self.smtp_port}",
        }


async def start_internet() -> AsyncIterator[Internet]:
    dns_server = await start_dns_server(OUTSIDE_RECORDS)
    port = free_loopback_port()
    receiver = Receiver(
        {"nobody@outside.example": "550 5.1.1 <nobody@outside.example>: Recipient address rejected"}
    )
    controller = Controller(receiver, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield Internet(dns_server, receiver, port)
    finally:
        controller.stop()
        assert dns_server.transport is not None
        dns_server.transport.close()


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class MailHost:
    root: Path
    config: Config
    running: app.RunningHost
    internet: Internet

    def port(self, name: str) -> int:
        return self.running.port(name)

    @property
    def directory(self) -> Directory:
        return self.running.services.directory

    def maildir(self, address: str) -> Path:
        local, domain = address.split("@")
        return self.root / "data" / "mail" / domain / local / "Maildir"

    async def delivered(self, address: str, folder: str = "") -> list[bytes]:
        """The messages in an account's folder once delivery has settled, oldest first."""
        await self.running.dispatcher.settled()
        base = self.maildir(address) / folder if folder else self.maildir(address)
        files = [p for sub in ("new", "cur") for p in (base / sub).glob("*") if p.is_file()]
        return [p.read_bytes() for p in sorted(files, key=lambda p: p.name)]


def write_config(
    root: Path,
    settings: dict[str, str] | None = None,
    listeners: tuple[ListenerExample, ...] = LISTENERS,
) -> Path:
    """The example config with the test settings, and `settings` (shipped line -> new line)."""
    text = example_config_text("mail.example.test", listeners, "127.0.0.1")
    for shipped, cheap in {**TEST_SETTINGS, **(settings or {})}.items():
        assert shipped in text
        text = text.replace(shipped, cheap, 1)
    path = root / "mailroom.toml"
    path.write_text(text)
    write_host_certificate(root / "tls" / "cert.pem", root / "tls" / "key.pem", "mail.example.test")
    return path


HOST_CERTIFICATES: dict[str, tuple[bytes, bytes]] = {}
"""The self-signed certificate and key (PEM) of every host for a hostname, made by this test
process's first host and copied for each later one (see `write_host_certificate`)."""


def write_host_certificate(certificate: Path, key: Path, hostname: str) -> None:
    """What `write_self_signed_certificate` writes (the key with mode 0600), but the RSA-2048
    key is made once per test process: a new one costs ~80 ms of a core (more on a loaded
    machine) and the suite starts ~1,500 hosts. A host serves its certificate the same
    whatever the key; the tests of the certificate itself (tests/net, `mailroom init` in
    tests/cli) and those that swap a host's certificate (tests/mailhost/test_reload.py,
    test_workers.py) still make new keys with `write_self_signed_certificate`."""
    if hostname not in HOST_CERTIFICATES:
        write_self_signed_certificate(certificate, key, hostname)
        HOST_CERTIFICATES[hostname] = (certificate.read_bytes(), key.read_bytes())
        return
    certificate_pem, key_pem = HOST_CERTIFICATES[hostname]
    key.parent.mkdir(parents=True, exist_ok=True)
    certificate.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    certificate.write_bytes(certificate_pem)


async def populate(directory: Directory, config: Config) -> None:
    """example.test with alice (+ extra address), bob, a send-as alias and a relay domain."""
    hashed = PasswordHasher(config.auth.passwords).hash(PASSWORD)
    await directory.add_domain("example.test")
    await directory.add_account("alice@example.test", hashed, display_name="Alice")
    await directory.add_account("bob@example.test", hashed, display_name="Bob")
    await directory.add_address("alice@example.test", "alice.liddell@example.test")
    await directory.add_alias(
        "pr@example.test",
        ["alice@example.test", "bob@example.test"],
        send_as=["alice@example.test"],
    )
    await directory.add_alias("press@example.test", ["alice@example.test", "press@outside.example"])
    await directory.set_transport("lists.example.test", "[127.0.0.1]:1")


SQLITE_TEMPLATES: dict[str, bytes] = {}
"""The shipped SQLite directory, migrated and populated, by what it depends on (see
`prepare_directory`): built once per test process, copied for each host."""


async def prepare_directory(config: Config, root: Path, directory_url: str | None) -> None:
    """The host's directory migrated and populated. For the shipped SQLite file the
    first host of this process builds it (the migrations, `populate`) and every later
    host with the same directory and password settings gets a copy of that file: the
    same tables and rows (another salt in the hashes), without running the migrations
    again for each of the suite's ~1,500 hosts. Migrations themselves are tested in
    tests/directory, on every backend."""
    key = None
    if directory_url is None:
        key = json.dumps(
            [config.directory.model_dump(mode="json"), config.auth.model_dump(mode="json")],
            sort_keys=True,
        )
    database = root / "directory.sqlite3"
    if key is not None and key in SQLITE_TEMPLATES and not database.exists():
        database.write_bytes(SQLITE_TEMPLATES[key])
        return
    directory = await app.open_directory(config)
    await directory.migrate()
    await populate(directory, config)
    await directory.close()
    if key is not None and database.exists():
        SQLITE_TEMPLATES[key] = database.read_bytes()


def directory_settings(directory_url: str | None) -> dict[str, str]:
    """The config settings that put the directory at `directory_url` (None: the shipped
    SQLite file). The URL is an empty database, e.g. of the `database_url` fixture
    (tests/support/databases.py), which creates and drops it: serve creates the tables."""
    return {} if directory_url is None else {SHIPPED_DIRECTORY_URL: f'url = "{directory_url}"'}


async def start_host(
    root: Path,
    settings: dict[str, str] | None = None,
    listeners: tuple[ListenerExample, ...] = LISTENERS,
    *,
    directory_url: str | None = None,
) -> AsyncIterator[MailHost]:
    """A running host and its internet, stopped when the iteration ends; its directory
    at `directory_url` if given (see `directory_settings`)."""
    async for internet in start_internet():
        async for host in start_host_on(
            root, internet, settings, listeners, directory_url=directory_url
        ):
            yield host


async def start_host_on(
    root: Path,
    internet: Internet,
    settings: dict[str, str] | None,
    listeners: tuple[ListenerExample, ...] = LISTENERS,
    *,
    directory_url: str | None = None,
) -> AsyncIterator[MailHost]:
    """A running host using an `Internet` the caller started (and stops)."""
    root.mkdir(parents=True, exist_ok=True)
    chosen = {**internet.settings(), **directory_settings(directory_url), **(settings or {})}
    config = load_config(write_config(root, chosen, listeners))
    await prepare_directory(config, root, directory_url)
    ready: asyncio.Future[app.RunningHost] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def started(running: app.RunningHost) -> None:
        ready.set_result(running)

    task = asyncio.create_task(app.serve(config, lambda line: None, started=started, stop=stop))
    done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong at start
    try:
        yield MailHost(root, config, ready.result(), internet)
    finally:
        stop.set()
        await task


def client_tls() -> ssl.SSLContext:
    """Clients in tests accept the host's self-signed certificate. No CA store is loaded:
    `ssl.create_default_context()` would parse the system's ~150 CAs (~60 ms of CPU) for
    a context that verifies nothing, at every login of every test."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
