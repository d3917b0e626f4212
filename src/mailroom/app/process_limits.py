"""What the server and the `mailroom` command set on their own process at start: the
open-file limit, raised to its hard limit (the connection limits are derived from it,
`net.edge_limits`), and the umask, so that nothing they create is readable by other
local users.

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
from mailroom.net.edge_limits import EdgeLimits, HostConnections

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


def host_connections(config: Config) -> HostConnections:
    """The connection counts of one process, with the limits `[limits]` and the
    open-file limit in force allow."""
    return HostConnections(EdgeLimits.derive(config.limits, open_file_limit()))


def describe_limits(connections: HostConnections) -> str:
    limits = connections.limits
    return (
        f"limits: {limits.max_connections} connections, "
        f"{limits.max_connections_per_address} per client address "
        f"(open files {open_file_limit()})"
    )
