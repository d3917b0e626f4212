"""Sieve (RFC 5228 and its extensions): parse, validate and run members' filters.

A run returns actions (`mailroom.sieve.actions`); `delivery.local` carries them out.
This package writes no mail and opens no file: what it needs of the world comes in
through `mailroom.sieve.context`.

    from mailroom.sieve import (
        Script, SieveError, SieveLimits, EXTENSIONS, compile_script, check_script, run)

Each extension is one module that registers its commands and tests
(`mailroom.sieve.registry`); importing them here is what makes them known.
"""

from mailroom.sieve import (  # noqa: F401  (imported to register their commands)
    base_actions,
    base_tests,
    control,
    envelope,
    fileinto,
    imap4flags,
    include,
    reject,
    variables,
)
from mailroom.sieve.errors import SieveError
from mailroom.sieve.interpreter import run
from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.registry import capabilities
from mailroom.sieve.script import Script, check_script, compile_script

EXTENSIONS: tuple[str, ...] = capabilities()
"""Capability names, as ManageSieve's "SIEVE" line announces them (RFC 5804 §1.7)."""

__all__ = [
    "EXTENSIONS",
    "Script",
    "SieveError",
    "SieveLimits",
    "check_script",
    "compile_script",
    "run",
]
