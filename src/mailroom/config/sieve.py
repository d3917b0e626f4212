"""`[sieve]`: where members' Sieve scripts live, the global scripts, and the limits that
keep one member's script from hurting the host.

The defaults follow Pigeonhole's (Dovecot's Sieve), so a host that moves from Dovecot
finds its members' scripts where Dovecot kept them and behaves as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from mailroom.config.section import Section, Size


class SieveConfig(Section):
    """Sieve filtering at local delivery (RFC 5228) and the scripts ManageSieve edits."""

    enabled: bool = True
    """Run members' and global scripts at local delivery."""
    scripts_template: str = "%h/sieve"
    """The directory of an account's scripts, one `NAME.sieve` file each (Pigeonhole's
    `sieve_dir`). %h is the account's home, the directory that holds its Maildir
    (`mailbox.path_template` without the last component); %u, %n and %d as there."""
    active_template: str = "%h/.dovecot.sieve"
    """The symbolic link to the active script (Pigeonhole's `sieve`)."""
    global_directory: Path | None = None
    """Where `include :global "name"` looks (Pigeonhole's `sieve_global`); relative to
    the config file's directory."""
    before: list[Path] = Field(default_factory=list)
    """Scripts run before each member's own, in order (Pigeonhole's `sieve_before`)."""
    after: list[Path] = Field(default_factory=list)
    """Scripts run after each member's own, in order (Pigeonhole's `sieve_after`)."""
    max_script_size: Size = 1024 * 1024
    """Largest script accepted (ManageSieve PUTSCRIPT, and at delivery)."""
    max_scripts: int = Field(default=32, ge=1)
    """Scripts an account may keep (ManageSieve's quota)."""
    max_storage: Size = 10 * 1024 * 1024
    """Octets of scripts an account may keep (ManageSieve's quota)."""
    max_actions: int = Field(default=32, ge=1)
    """Actions one run may take (Pigeonhole's `sieve_max_actions`)."""
    max_redirects: int = Field(default=4, ge=0)
    """Redirects one run may take (Pigeonhole's `sieve_max_redirects`); ManageSieve
    announces it as MAXREDIRECTS."""
    max_run_seconds: float = Field(default=5.0, gt=0)
    """CPU time one message's scripts may take before the run is stopped and the
    message kept (Pigeonhole's `sieve_max_cpu_time`)."""
    max_include_depth: int = Field(default=10, ge=1)
    """Nested includes (RFC 6609)."""
    vacation_min_period_seconds: int = Field(default=24 * 3600, ge=0)
    """Shortest `:days`/`:seconds` honoured (Pigeonhole's `sieve_vacation_min_period`)."""
    vacation_default_period_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    """Period without `:days` (RFC 5230 §4.1 suggests 7 days)."""
    vacation_max_period_seconds: int = Field(default=60 * 24 * 3600, ge=0)
    """Longest period honoured (Pigeonhole's `sieve_vacation_max_period`)."""
    duplicate_default_period_seconds: int = Field(default=14 * 24 * 3600, ge=0)
    """The duplicate test's period without `:seconds` (RFC 7352, Pigeonhole's default)."""
    duplicate_max_period_seconds: int = Field(default=7 * 24 * 3600 * 4, ge=0)
    """Longest period the duplicate test remembers."""

    @field_validator("scripts_template", "active_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if re.search(r"%[^hund%]", value):
            raise ValueError("only %h, %u, %n, %d and %% may follow '%'")
        if "%h" not in value and "%u" not in value and "%n" not in value:
            raise ValueError("the template must contain %h, %u or %n, or accounts share it")
        return value
