"""How much memory (and CPU time) a server's processes hold, read from /proc (Linux only).

A server is a process tree: Dovecot is a master whose children are imap,
imap-login, auth, anvil, config, log, stats…; Mailroom is one process. The
benchmark sums over the whole tree, found from the root PID by each process's
parent PID in ``/proc/<pid>/stat``.

PSS (proportional set size, ``/proc/<pid>/smaps_rollup``) is the figure that
adds up: a page shared by 2,000 imap processes (the binary, libc, a mapped
index) counts 1/2000 in each, where RSS would count it 2,000 times. RSS is
read too, and used when smaps_rollup cannot be read.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class MemorySample:
    """Memory of a process tree at one moment."""

    processes: int
    pss_kib: int
    rss_kib: int
    pss_known: bool  # False: some smaps_rollup was unreadable, pss_kib holds RSS for those


def read_pid_file(path: Path) -> int:
    """The first number in a PID file (Dovecot's master.pid, Postfix's has spaces)."""
    return int(path.read_text().split()[0])


def process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it (a snapshot; processes come and go)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        parent = _parent_pid(int(entry.name))
        if parent is not None:
            children.setdefault(parent, []).append(int(entry.name))
    if not (PROC / str(root)).exists():
        return []
    tree: list[int] = []
    pending = [root]
    while pending and len(tree) < 1_000_000:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def _parent_pid(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def sample(root: int) -> MemorySample:
    """PSS and RSS summed over ``root``'s process tree, in KiB."""
    pss_total = rss_total = 0
    all_known = True
    counted = 0
    for pid in process_tree(root):
        rss = _rss_kib(pid)
        if rss is None:
            continue  # exited meanwhile
        pss = _pss_kib(pid)
        if pss is None:
            all_known = False
            pss = rss
        pss_total += pss
        rss_total += rss
        counted += 1
    return MemorySample(counted, pss_total, rss_total, all_known)


def _pss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


def _rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0  # a kernel thread or a zombie: no memory of its own
    return None


def cpu_seconds(root: int) -> float:
    """User + system CPU time of ``root``'s process tree so far, with what its exited and
    reaped children used (``cutime``/``cstime``, fields 14–17 of ``/proc/<pid>/stat``):
    the difference of two readings is what the server spent in between, also in the
    Dovecot processes that came and went (imap, imap-login)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (PROC / str(pid) / "stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            total += sum(int(value) for value in fields[11:15])
    return total / ticks
