"""`mailroom serve` as a separate process, for what only a process can show: SIGKILL,
SIGHUP, a restart."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from mailroom import app
from mailroom.config import load_config
from mailroom.config.example import ListenerExample
from tests.support.mail_host import LISTENERS, populate, write_config

_HANDED_OUT: set[int] = set()
"""Ports `free_port` gave in this process: a port handed out is free to the kernel until
its server binds it, so the kernel may offer it again meanwhile."""


def free_port() -> int:
    """A port free on 127.0.0.1 now, never one this process was given before (two
    listeners of one config, or two servers of one test, never get the same port)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


async def prepare_host(
    root: Path,
    settings: dict[str, str] | None = None,
    listeners: tuple[ListenerExample, ...] = LISTENERS,
) -> tuple[Path, int]:
    """A host directory whose first listener (smtp, unless `listeners` say otherwise) is on
    a fixed free port, the others on any port; its directory populated. Returns the
    config path and that port."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = write_config(root, settings, listeners)
    text = config_path.read_text()
    config_path.write_text(
        text.replace('address = "127.0.0.1:0"', f'address = "127.0.0.1:{port}"', 1)
    )
    config = load_config(config_path)
    directory = await app.open_directory(config)
    await directory.migrate()
    await populate(directory, config)
    await directory.close()
    return config_path, port


async def prepare_host_ports(
    root: Path,
    settings: dict[str, str] | None = None,
    listeners: tuple[ListenerExample, ...] = LISTENERS,
) -> tuple[Path, dict[str, int]]:
    """Like `prepare_host`, but every listener on a fixed free port: returns the config
    path and each listener's port by name."""
    config_path, _ = await prepare_host(root, settings, listeners)
    text = config_path.read_text()
    while 'address = "127.0.0.1:0"' in text:
        text = text.replace('address = "127.0.0.1:0"', f'address = "127.0.0.1:{free_port()}"', 1)
    config_path.write_text(text)
    config = load_config(config_path)
    return config_path, {listener.name: listener.port for listener in config.listeners}


async def start_server(
    config: Path, before_exec: Callable[[], None] | None = None
) -> asyncio.subprocess.Process:
    """Start `mailroom serve` (its log in `serve.log` beside the config) and return once
    it says it is running; `before_exec` runs in the child first (to lower a limit)."""
    with (config.parent / "serve.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mailroom",
            "serve",
            "--as-root",  # the tests run as root; tests/mailhost/test_service_user.py drops it
            "-c",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            preexec_fn=before_exec,
        )
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, "the server exited before it was ready"
        if line.startswith(b"running"):
            return process


async def logged(config: Path, text: str, seconds: float = 30) -> None:
    """Wait until the server's log contains `text` (the server is another process: its
    log is the only way to hear it)."""
    log = config.parent / "serve.log"
    for _ in range(int(seconds / 0.05)):
        if text in log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {log}")
