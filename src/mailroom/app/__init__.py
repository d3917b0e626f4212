"""The composition root: one `Host` built from the config, every service with its
start and stop, protocols looked up by name; and single services for the commands.

services.py builds each service, protocols.py is the protocol registry, host.py
starts and stops the whole, serve.py runs it under signals, standalone.py serves the
`mailroom` commands. Only this package wires packages together.
"""

from mailroom.app.host import Host, ListenError, RunningHost, open_host
from mailroom.app.logging_setup import configure_logging
from mailroom.app.protocols import PROTOCOLS, SERVED, describe_listener, protocol_builders
from mailroom.app.secret_files import LooseFile, loose_secret_files
from mailroom.app.serve import serve, tune_garbage_collector
from mailroom.app.services import (
    HostFileError,
    Services,
    control_socket,
    data_dir,
    open_directory,
    queue_dir,
    router_for,
)
from mailroom.app.standalone import (
    dkim_keys,
    login_checker,
    open_queue,
    password_hasher,
    queue_administration,
)

__all__ = [
    "PROTOCOLS",
    "SERVED",
    "Host",
    "HostFileError",
    "ListenError",
    "LooseFile",
    "RunningHost",
    "Services",
    "configure_logging",
    "control_socket",
    "data_dir",
    "describe_listener",
    "dkim_keys",
    "login_checker",
    "loose_secret_files",
    "open_directory",
    "open_host",
    "open_queue",
    "password_hasher",
    "protocol_builders",
    "queue_administration",
    "queue_dir",
    "router_for",
    "serve",
    "tune_garbage_collector",
]
