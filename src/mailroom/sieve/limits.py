"""`SieveLimits`: every size, count and time a script controls, bounded in one place.

The values that the operator sets come from `[sieve]` (`mailroom.config.sieve.
SieveConfig`) through `SieveLimits.from_config`; the others are the interpreter's own
bounds (Pigeonhole's defaults where it has one). `mailroom.sieve` reads only the config
*type* (DESIGN.md: config's types may be used everywhere), never the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailroom.config.sieve import SieveConfig


@dataclass(frozen=True)
class SieveLimits:
    max_script_size: int = 1024 * 1024
    """Octets of one script, checked before parsing (also for each included script)."""
    max_nesting_depth: int = 64
    """Blocks and tests nested inside each other (Pigeonhole: 32 blocks, 32 tests)."""
    max_run_seconds: float = 5.0
    """CPU seconds one message's scripts may take (Pigeonhole's sieve_max_cpu_time)."""
    max_steps: int = 2_000_000
    """Commands, tests and value comparisons one run may make: a bound that does not
    depend on the machine's speed, so a runaway script stops at the same point."""
    max_actions: int = 32
    max_redirects: int = 4
    max_include_depth: int = 10
    max_included_scripts: int = 32
    """Distinct scripts one run may include (RFC 6609 §3.2 leaves the bound to us)."""
    max_variables: int = 255
    """Variables per scope (Pigeonhole's sieve_variables_max_scope_size)."""
    max_variable_size: int = 4096
    """Octets of one variable's value; longer values are cut (Pigeonhole's default)."""
    max_match_input: int = 64 * 1024
    """Characters of one value handed to :matches or :regex; the rest is not looked at.
    With `max_regex_length` it bounds the backtracking of Python's `re` (ReDoS)."""
    max_regex_length: int = 1024
    """Characters of one :regex pattern."""
    max_string_list: int = 1024
    """Strings in one string list."""
    max_expanded_string: int = 1024 * 1024
    """Characters one string may grow to when its variables are substituted."""
    vacation_min_period_seconds: int = 24 * 3600
    vacation_default_period_seconds: int = 7 * 24 * 3600
    vacation_max_period_seconds: int = 60 * 24 * 3600
    duplicate_default_period_seconds: int = 14 * 24 * 3600
    duplicate_max_period_seconds: int = 28 * 24 * 3600

    @classmethod
    def from_config(cls, config: SieveConfig) -> SieveLimits:
        """The limits `[sieve]` sets; the interpreter's own bounds keep their defaults."""
        return cls(
            max_script_size=int(config.max_script_size),
            max_run_seconds=config.max_run_seconds,
            max_actions=config.max_actions,
            max_redirects=config.max_redirects,
            max_include_depth=config.max_include_depth,
            vacation_min_period_seconds=config.vacation_min_period_seconds,
            vacation_default_period_seconds=config.vacation_default_period_seconds,
            vacation_max_period_seconds=config.vacation_max_period_seconds,
            duplicate_default_period_seconds=config.duplicate_default_period_seconds,
            duplicate_max_period_seconds=config.duplicate_max_period_seconds,
        )
