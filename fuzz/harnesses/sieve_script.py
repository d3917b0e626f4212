"""Sieve scripts (`mailroom.sieve.compile_script`: sievelib's grammar with our commands
registered, capabilities, every command's arguments; then `mailroom.sieve.run`).

The input is a script as a member uploads it through ManageSieve. Contract: compiling
gives a `Script` or `SieveError` naming a line; a script that compiles runs on a small
message and returns an `Outcome` (a run never raises: a fault becomes
`Outcome.failed`). `include` finds the same script under any name, so includes nest to
their limit. A crash: any other exception (sievelib's state machine included), or a
hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mailroom.sieve import SieveError, SieveLimits, compile_script, run
from mailroom.sieve.actions import Outcome
from mailroom.sieve.context import Envelope, MessageSource, RunContext, ScriptScope

LIMITS = SieveLimits(max_script_size=16 * 1024, max_nesting_depth=32, max_steps=100_000)
MESSAGE = (
    b"From: Coyote <coyote@desert.example.org>\r\n"
    b"To: roadrunner+lists@acme.example.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?= plans\r\n"
    b"Date: Mon, 02 Nov 2026 09:30:00 +0100\r\n"
    b"Message-ID: <1@desert.example.org>\r\n"
    b"List-Id: <birds.example.org>\r\n"
    b"\r\n"
    b"Beep beep.\r\n"
)
_HEADER, _, _BODY = MESSAGE.partition(b"\r\n\r\n")


@dataclass(frozen=True)
class _World:
    """Folders, duplicate memory and include loader of one run."""

    source: bytes

    def exists(self, name: str) -> bool:
        return name in ("INBOX", "Junk", "lists")

    def seen(self, handle: str, value: str) -> bool:
        return value.startswith("<1@")

    def load(self, scope: ScriptScope, name: str) -> bytes | None:
        return self.source if name != "missing" else None


def one_input(data: bytes) -> None:
    try:
        script = compile_script(data, name="fuzz", limits=LIMITS)
    except SieveError as error:
        assert error.line >= 0 and str(error).startswith("fuzz: "), error
        return
    world = _World(data)
    context = RunContext(
        envelope=Envelope("coyote@desert.example.org", "roadrunner@acme.example.com", "lists"),
        message=MessageSource(_HEADER + b"\r\n", len(MESSAGE), lambda limit: _BODY[:limit]),
        folders=world,
        duplicates=world,
        includes=world,
        own_addresses=("roadrunner@acme.example.com",),
        now=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        hostname="mail.acme.example.com",
    )
    outcome = run([script], context, LIMITS)
    assert isinstance(outcome, Outcome)
    assert len(outcome.actions) <= LIMITS.max_actions + 1, outcome
