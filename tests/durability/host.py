"""What the durability tests share: a message sent by plain SMTP, and where the
server under test keeps its Maildirs and its queue."""

from __future__ import annotations

from pathlib import Path

from mailroom.config import load_config
from mailroom.queue.layout import QueueLayout
from tests.support.smtp_talk import Talk


async def send(port: int, recipients: list[str], token: str, *, bdat: bool = False) -> str:
    """One message by plain SMTP on port 25; the queue id its 250 names."""
    return await (await Talk.open(port)).send_message(recipients, token, bdat=bdat)


def maildir_files(maildir: Path) -> list[Path]:
    return sorted((maildir / "new").iterdir()) + sorted((maildir / "cur").iterdir())


def queue_layout(config: Path) -> QueueLayout:
    loaded = load_config(config)
    return QueueLayout(loaded.resolve(loaded.data_dir).resolve() / "queue")


def maildir(config: Path, address: str) -> Path:
    local, domain = address.split("@")
    return (config.parent / "data" / "mail" / domain / local / "Maildir").resolve()
