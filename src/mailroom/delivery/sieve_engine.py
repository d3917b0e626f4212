"""The interpreter (`mailroom.sieve`) as delivery's `SieveEngine`: compile errors as
text for the log, runs bounded by the limits `[sieve]` sets (`SieveLimits.from_config`,
built once, here)."""

from __future__ import annotations

from collections.abc import Sequence

from mailroom.config.sieve import SieveConfig
from mailroom.sieve import Script, SieveError, SieveLimits, compile_script, run
from mailroom.sieve.actions import Outcome
from mailroom.sieve.context import RunContext


class SieveInterpreter:
    """`mailroom.sieve` with the host's limits."""

    def __init__(self, config: SieveConfig) -> None:
        self.limits = SieveLimits.from_config(config)

    def compile(self, source: bytes, name: str) -> Script | str:
        try:
            return compile_script(source, name=name, limits=self.limits)
        except SieveError as error:
            return str(error)  # "NAME: line N: message"

    def run(self, scripts: Sequence[Script], context: RunContext) -> Outcome:
        return run(scripts, context, self.limits)
