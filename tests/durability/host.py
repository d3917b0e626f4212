"""What the durability tests share: a message sent by plain SMTP, and where the
server under test keeps its Maildirs and its queue."""

from __future__ import annotations

import re
from pathlib import Path

from mailroom.config import load_config
from mailroom.queue.layout import QueueLayout
from tests.support.smtp_talk import Talk

QUEUED = re.compile(r"queued as (\S+)")


async def send(port: int, recipients: list[str], token: str, *, bdat: bool = False) -> str:
    """One message by plain SMTP on port 25; the queue id its 250 names."""
    talk = await Talk.open(port)
    assert (await talk.command("EHLO client.outside.example"))[0] == 250
    assert (await talk.command("MAIL FROM:<carol@outside.example>"))[0] == 250
    for recipient in recipients:
        assert (await talk.command(f"RCPT TO:<{recipient}>"))[0] == 250
    body = f"Subject: {token}\r\n\r\nBody of {token}.\r\n".encode()
    if bdat:
        await talk.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
    else:
        assert (await talk.command("DATA"))[0] == 354
        await talk.send(body + b".\r\n")
    code, text = await talk.reply()
    assert code == 250, text
    await talk.command("QUIT")
    talk.close()
    match = QUEUED.search(text)
    assert match, text
    return match.group(1)


def maildir_files(maildir: Path) -> list[Path]:
    return sorted((maildir / "new").iterdir()) + sorted((maildir / "cur").iterdir())


def queue_layout(config: Path) -> QueueLayout:
    loaded = load_config(config)
    return QueueLayout(loaded.resolve(loaded.data_dir).resolve() / "queue")


def maildir(config: Path, address: str) -> Path:
    local, domain = address.split("@")
    return (config.parent / "data" / "mail" / domain / local / "Maildir").resolve()
