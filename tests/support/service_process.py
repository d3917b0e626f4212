"""`mailroom serve` started as root that drops to its service user (`[server] user`), as
a separate process: the command line, and the process while it runs.

Where this machine's Python lives under a directory the service user cannot enter
(pyenv under /root, mode 0700), the server runs in a private mount namespace in which
that one directory is traversable: the machine itself is not changed."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from mailroom.config import load_config
from tests.support.server_process import free_port

_LISTENER_ADDRESS = re.compile(r'^address = "127\.0\.0\.1:\d+"$', re.M)


def unreachable_ancestor(path: Path) -> Path | None:
    """The first directory above `path` that others may not enter (so `nobody` cannot)."""
    for ancestor in reversed(path.parents):
        if not ancestor.stat().st_mode & stat.S_IXOTH:
            return ancestor
    return None


def serve_command(config: Path) -> list[str]:
    """`mailroom serve -c CONFIG`, as root; in a private mount namespace where the one
    directory hiding this Python from others is made traversable, if there is one."""
    serve = [sys.executable, "-m", "mailroom", "serve", "-c", str(config)]
    python = Path(sys.base_prefix).resolve()
    hidden = unreachable_ancestor(python / "lib")
    if hidden is None:
        return serve
    inside = hidden / python.relative_to(hidden).parts[0]
    held = config.parent / "held"
    script = (
        'set -e; mkdir "$1"; mount --bind "$2" "$1"; '
        'mount -t tmpfs -o mode=0711 tmpfs "$2"; mkdir "$3"; '
        'mount --bind "$1/${3##*/}" "$3"; shift 3; exec "$@"'
    )
    return ["unshare", "-m", "sh", "-c", script, "sh", str(held), str(hidden), str(inside), *serve]


@contextlib.asynccontextmanager
async def running(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The server (its log in `serve.log` beside the config), once it says it is
    running; SIGTERM and reaped at the end."""
    with (config.parent / "serve.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *serve_command(config), stdout=asyncio.subprocess.PIPE, stderr=log
        )
    assert process.stdout is not None
    try:
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "the server exited: " + (config.parent / "serve.log").read_text()
            if line.startswith(b"running"):
                break
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()


def pin_ports(config: Path) -> dict[str, int]:
    """Every listener of `config` on a loopback port chosen now (the server is another
    process, whose ephemeral ports the test could not learn): each listener's port by
    name."""
    text = _LISTENER_ADDRESS.sub(
        lambda _: f'address = "127.0.0.1:{free_port()}"', config.read_text()
    )
    config.write_text(text)
    return {listener.name: listener.port for listener in load_config(config).listeners}


@contextlib.asynccontextmanager
async def running_on_free_ports(
    config: Path,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, int]]]:
    """`running`, on ports pinned by `pin_ports`; chosen again (up to three times) when
    another program took one between the choice and the server's bind."""
    for attempt in range(3):
        ports = pin_ports(config)
        async with contextlib.AsyncExitStack() as stack:
            try:
                process = await stack.enter_async_context(running(config))
            except AssertionError as error:
                if "address already in use" in str(error) and attempt < 2:
                    continue
                raise
            yield process, ports
            return
