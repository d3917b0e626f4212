"""Routing in tests: the small community of accounts, aliases and transports every routing
test starts from, table files written from text, a clock the test moves by hand, and a
router's expansion as short lines to compare."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from mailroom.config import DirectoryConfig
from mailroom.directory import Directory
from mailroom.routing import Expansion, Router

# A stand-in: the directory stores hashes, routing never looks at them.
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


class Clock:
    """Monotonic time that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write(directory: Path, name: str, text: str) -> Path:
    """Write `text` (dedented) to `directory/name`; return the path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


async def populate(directory: Directory) -> Directory:
    """The community every routing test starts from:
    - local domains example.org and example.net;
    - accounts alice@example.org (extra address alice.smith@example.org), bob@example.org,
      root@example.org, root@example.net, and carol@example.org (disabled);
    - the alias team@example.org -> alice@example.org, bob@example.org;
    - transports for issue.example.org and lists.example.org (the legacy sub-domains)."""
    await directory.add_domain("example.org")
    await directory.add_domain("example.net")
    await directory.add_account("alice@example.org", HASH)
    await directory.add_address("alice@example.org", "alice.smith@example.org")
    await directory.add_account("bob@example.org", HASH)
    await directory.add_account("root@example.org", HASH)
    await directory.add_account("root@example.net", HASH)
    await directory.add_account("carol@example.org", HASH, enabled=False)
    await directory.add_alias("team@example.org", ["alice@example.org", "bob@example.org"])
    await directory.set_transport("issue.example.org", "[issue.internal.example.org]:25")
    await directory.set_transport("lists.example.org", "[lists.internal.example.org]:25")
    return directory


async def open_directory(url: str, base_dir: Path) -> Directory:
    directory = await Directory.connect(DirectoryConfig(url=url), base_dir)
    await directory.migrate()
    return directory


MakeRouter = Callable[..., Router]


def deliveries(expansion: Expansion) -> list[str]:
    """The deliveries as short lines: `local alice@example.org detail=tag bcc`."""
    lines = []
    for delivery in expansion.deliveries:
        words = [delivery.kind.value, delivery.recipient]
        if delivery.detail is not None:
            words.append(f"detail={delivery.detail}")
        if delivery.nexthop is not None:
            words.append(f"via {delivery.nexthop}")
        if delivery.bcc:
            words.append("bcc")
        lines.append(" ".join(words))
    return lines


def failures(expansion: Expansion) -> list[str]:
    """The failures as short lines: `loop a@example.org`."""
    return [f"{failure.reason.value} {failure.address}" for failure in expansion.failures]
