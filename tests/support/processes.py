"""Which process is which, read from /proc (Linux): a server's children, and the
process that holds the server end of a TCP connection. How the tests of worker
processes see where a connection landed without the server saying so."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

PROC = Path("/proc")


def parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (in parentheses) may hold spaces: the fields follow its last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def children_of(pid: int) -> set[int]:
    return {
        int(entry.name)
        for entry in PROC.iterdir()
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid
    }


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the connection 127.0.0.1:client_port ->
    127.0.0.1:server_port, from /proc/net/tcp."""
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server_port and (
                int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return int(fields[9])
    return None


def holder(server_port: int, client_port: int, candidates: set[int]) -> int | None:
    """Which of `candidates` (process ids) holds the server end of that connection."""
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in candidates:
        descriptors = PROC / str(pid) / "fd"
        try:
            names = os.listdir(descriptors)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(descriptors / name) == wanted:
                    return pid
            except OSError:
                continue
    return None


async def until(condition: object, seconds: float = 30, what: str = "a condition") -> None:
    """Wait until `condition()` is true (checked every 50 ms); AssertionError after
    `seconds` (a bound on a hang, not a measurement)."""
    assert callable(condition)
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} never happened")
