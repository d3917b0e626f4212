"""`mailroom serve`: run the mail host in the foreground."""

from __future__ import annotations

import gc

import uvloop

from mailroom import app as application
from mailroom.cli.command import ConfigOption, console, load


def serve(config: ConfigOption = None) -> None:
    """Start the listeners of the config and serve until Ctrl-C or SIGTERM; SIGHUP
    re-reads certificates and map files. What `mailroom config check` refuses (a
    listener of a protocol not built yet, a bad map file, a missing certificate)
    stops it at start."""
    settings = load(config)
    application.configure_logging(settings)

    async def main() -> None:
        await application.serve(settings, announce=lambda line: console.print(line))

    tune_garbage_collector()
    # uvloop: the same asyncio API on libuv, measurably faster for many connections.
    uvloop.run(main())


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def tune_garbage_collector() -> None:
    """A server's heap holds an object per message of every open folder, and a STORE or
    a FETCH makes thousands of small ones at a time: with the default thresholds the
    cyclic collector runs every few hundred of them and keeps walking the long-lived
    ones (about a tenth of a STORE's time on 10,000 messages). What start-up made lives
    as long as the process; the little cyclic garbage we make waits a little longer."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
