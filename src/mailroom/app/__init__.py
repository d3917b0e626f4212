"""The composition root: one `Host` built from the config, every service with its
start and stop, protocols looked up by name; and single services for the commands.

services.py builds each service, protocols.py is the protocol registry, host.py
starts and stops the whole, serving.py runs it under signals, standalone.py serves the
`mailroom` commands, host_files.py names the host's own files. Only this package wires
packages together.

The names below are imported on first use (PEP 562 `__getattr__`): `mailroom user add`
asks for `password_hasher` and so loads standalone.py, not every protocol server, which
only `serve` needs (importing them all cost each command about 1.5 s of CPU).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailroom.app.host import Host, RunningHost, open_host
    from mailroom.app.host_files import (
        HostFileError,
        ListenError,
        control_socket,
        data_dir,
        open_directory,
        queue_dir,
    )
    from mailroom.app.logging_setup import configure_logging
    from mailroom.app.protocols import PROTOCOLS, SERVED, describe_listener, protocol_builders
    from mailroom.app.secret_files import LooseFile, loose_secret_files
    from mailroom.app.services import Services, router_for
    from mailroom.app.serving import serve, tune_garbage_collector
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

_MODULES = {
    "host": ("Host", "RunningHost", "open_host"),
    "host_files": (
        "HostFileError",
        "ListenError",
        "control_socket",
        "data_dir",
        "open_directory",
        "queue_dir",
    ),
    "logging_setup": ("configure_logging",),
    "protocols": ("PROTOCOLS", "SERVED", "describe_listener", "protocol_builders"),
    "secret_files": ("LooseFile", "loose_secret_files"),
    "serving": ("serve", "tune_garbage_collector"),
    "services": ("Services", "router_for"),
    "standalone": (
        "dkim_keys",
        "login_checker",
        "open_queue",
        "password_hasher",
        "queue_administration",
    ),
}
"""The module of this package that defines each name of `__all__`."""

_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
