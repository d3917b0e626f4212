"""A whole Mailroom host in the test's event loop, on ephemeral 127.0.0.1 ports: the real
`serve` with its listeners, queue and delivery, a real SQLite directory, real TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailroom import app
from mailroom.config import Config, load_config
from mailroom.config.example import ListenerExample, example_config_text
from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
from mailroom.net.certificates import write_self_signed_certificate

PASSWORD = "correct horse battery"

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
}


@dataclass
class MailHost:
    root: Path
    config: Config
    running: app.RunningHost

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


def write_config(root: Path, settings: dict[str, str] | None = None) -> Path:
    """The example config with the test settings, and `settings` (shipped line -> new line)."""
    text = example_config_text("mail.example.test", LISTENERS, "127.0.0.1")
    for shipped, cheap in {**TEST_SETTINGS, **(settings or {})}.items():
        assert shipped in text
        text = text.replace(shipped, cheap, 1)
    path = root / "mailroom.toml"
    path.write_text(text)
    write_self_signed_certificate(
        root / "tls" / "cert.pem", root / "tls" / "key.pem", "mail.example.test"
    )
    return path


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


async def start_host(root: Path, settings: dict[str, str] | None = None) -> AsyncIterator[MailHost]:
    root.mkdir(parents=True, exist_ok=True)
    config = load_config(write_config(root, settings))
    directory = await app.open_directory(config)
    await directory.migrate()
    await populate(directory, config)
    await directory.close()
    ready: asyncio.Future[app.RunningHost] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def started(running: app.RunningHost) -> None:
        ready.set_result(running)

    task = asyncio.create_task(app.serve(config, lambda line: None, started=started, stop=stop))
    done, _ = await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong at start
    try:
        yield MailHost(root, config, ready.result())
    finally:
        stop.set()
        await task


@pytest.fixture
async def mailhost(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for host in start_host(tmp_path / "host"):
        yield host


def client_tls() -> ssl.SSLContext:
    """Clients in tests accept the host's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
