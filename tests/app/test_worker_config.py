"""A worker's configuration is the main process's, passed as JSON in an unnamed file:
what the worker reads back is the config the main process holds, value for value."""

from __future__ import annotations

import os
from pathlib import Path

from mailroom.app.workers import config_bytes, config_file, worker_config
from mailroom.config import parse_config
from mailroom.config.example import ListenerExample, example_config_text

LISTENERS = (
    ListenerExample("smtp", "smtp", 25, "starttls"),
    ListenerExample("imaps", "imap", 993, "implicit"),
    ListenerExample("pop3s", "pop3", 995, "implicit"),
)
CHANGED = {
    "# workers = 1": "workers = 2",
    '# max_message_size = "50M"': 'max_message_size = "5M"',
    "# max_connections_per_user_ip = 10": "max_connections_per_user_ip = 3",
    "# max_connections_per_address = 50": "max_connections_per_address = 150",
    "# reserved_file_descriptors = 256": "reserved_file_descriptors = 100",
}


def test_a_worker_reads_back_the_config_of_the_main_process(tmp_path: Path) -> None:
    text = example_config_text("mail.example.test", LISTENERS, "127.0.0.1")
    for old, new in CHANGED.items():
        assert old in text
        text = text.replace(old, new)
    source = tmp_path / "mailroom.toml"
    config = parse_config(text, source)
    handle = config_file(config_bytes(config))
    try:
        given = worker_config(os.dup(handle.fileno()), config.source)  # type: ignore[arg-type]
    finally:
        handle.close()
    assert given == config
    assert given.source == config.source
    assert given.resolve(Path("x")) == config.resolve(Path("x"))
    assert given.server.workers == 2 and given.smtp.max_message_size == 5 * 1024 * 1024
