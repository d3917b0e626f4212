"""What the server and the `mailroom` command set on their own process at start: the
open-file limit, raised to its hard limit (the connection limits are derived from it,
`net.edge_limits`), and the umask, so that nothing they create is readable by other
local users.

With worker processes the IMAP and POP3 sockets live in the workers, so the host's
connection cap is what the main process's descriptors hold for its own listeners plus
what each worker's hold (`host_limits`), said in one log line once the workers have
told their limits; each worker is handed no more than its own share (net/handoff.py).

The soft RLIMIT_NOFILE is 1024 under systemd's default, which 1,100 silent connections
from one address used up; the hard limit (524288 under systemd) is what the process
may raise it to itself. Beyond it, `LimitNOFILE=` in the systemd unit (or `ulimit -Hn`
for whoever starts the server) raises it; `fs.nr_open` and `fs.file-max` bound that,
and `net.core.somaxconn` bounds the listen backlog (`net.listener.BACKLOG`).
"""

from __future__ import annotations

import logging
import os
import resource

from mailroom.config import Config
from mailroom.config.limits import LimitsConfig
from mailroom.net.edge_limits import FILES_PER_CONNECTION, EdgeLimits, HostConnections
from mailroom.net.handoff import SharedConnections

log = logging.getLogger("mailroom")

PRIVATE_UMASK = 0o027
"""New files are at most rw-r----- (the service group may read, nobody else), new
directories rwxr-x---."""


def use_private_umask() -> int:
    """Set the umask to PRIVATE_UMASK (keeping anything stricter already set); return
    the previous one."""
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, error)
    return open_file_limit()


def open_file_limit() -> int:
    """The soft open-file limit in force."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 20


def host_connections(config: Config) -> SharedConnections:
    """The connection counts of one process, with the limits `[limits]` and the
    open-file limit in force allow (until the workers' limits are known: `host_limits`)."""
    return SharedConnections(EdgeLimits.derive(config.limits, open_file_limit()))


def process_room(config: LimitsConfig, open_files: int) -> int:
    """Connections one process with `open_files` descriptors may serve (`[limits]
    max_connections` aside)."""
    unlimited = config.model_copy(update={"max_connections": "auto"})
    return EdgeLimits.derive(unlimited, open_files).max_connections


def host_limits(config: LimitsConfig, own_files: int, worker_files: list[int]) -> EdgeLimits:
    """The host's limits when the main process has `own_files` descriptors and its
    workers `worker_files`: the connections they can all serve together, as if one
    process had the descriptors to hold them (`[limits] max_connections` still caps)."""
    room = process_room(config, own_files) + sum(
        process_room(config, files) for files in worker_files
    )
    return EdgeLimits.derive(config, room * FILES_PER_CONNECTION + config.reserved_file_descriptors)


def describe_host_limits(
    connections: HostConnections, config: LimitsConfig, own_files: int, worker_files: list[int]
) -> str:
    """The one line said at start by a host with workers."""
    limits = connections.limits
    shares = ", ".join(str(process_room(config, files)) for files in worker_files)
    files = sorted(set(worker_files))
    return (
        f"limits: {limits.max_connections} connections for the host: "
        f"{process_room(config, own_files)} in the main process (open files {own_files}) "
        f"+ {len(worker_files)} workers × ({shares}) "
        f"(open files {', '.join(map(str, files))}; {FILES_PER_CONNECTION} per connection, "
        f"{config.reserved_file_descriptors} kept), "
        f"{limits.max_connections_per_address} per client address"
    )


def describe_limits(connections: HostConnections) -> str:
    limits = connections.limits
    return (
        f"limits: {limits.max_connections} connections, "
        f"{limits.max_connections_per_address} per client address "
        f"(open files {open_file_limit()})"
    )
