"""The harnesses, one module per parser; `HARNESSES` names them in the order `make fuzz`
runs them.

Each module defines `one_input(data: bytes) -> None`: plain Python (no atheris), so the
test suite replays the corpora through the very same function. It returns normally for
any input the parser handled as its contract says: a result, or one of the parser's
documented error types. Anything else it lets through or raises is a crash: another
exception (the parser's bug), an `AssertionError` (a broken invariant, checked by the
harness), a `RecursionError`. A hang and unbounded memory are found by the runner
(libFuzzer's `-timeout` and `-rss_limit_mb`). Importing this package imports no Mailroom
module, so that the runner can instrument them as the harness imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

HARNESSES: tuple[str, ...] = (
    "smtp_commands",
    "smtp_data",
    "imap_commands",
    "imap_url",
    "pop3_commands",
    "pop3_wire",
    "sasl",
    "managesieve_reader",
    "sieve_script",
    "sieve_match",
    "message",
    "imap_threading",
    "posix_regex",
    "aliases_file",
    "regexp_table",
    "transport_map",
    "map_file",
    "legacy_postfix_files",
    "control_protocol",
    "queue_envelope",
    "mta_sts",
    "srs",
    "mailbox_names",
    "maildir_files",
    "spf_record",
    "dmarc_record",
    "authentication_results",
    "dkim_verify",
    "dnsbl_sites",
    "crl_fetch",
    "client_certificates",
    "ban_file",
    "member_uploads",
    "metrics_history",
    "worker_metrics",
    "syslog_frames",
)

OneInput = Callable[[bytes], None]


def one_input(name: str) -> OneInput:
    """The `one_input` function of the harness called `name` (importing its module)."""
    if name not in HARNESSES:
        raise KeyError(f"no harness called {name!r}; there are: {', '.join(HARNESSES)}")
    module = importlib.import_module(f"fuzz.harnesses.{name}")
    function: OneInput = module.one_input
    return function
