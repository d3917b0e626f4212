"""The one error a script can cause: `SieveError`, naming the script and the line.

Compilation raises it (ManageSieve answers PUTSCRIPT/CHECKSCRIPT with its text); a run
never raises it to its caller but turns it into `Outcome.failed` (RFC 5228 §2.10.6).
"""

from __future__ import annotations


class SieveError(Exception):
    """A script is not valid Sieve, or failed at run time.

    `str()` is "NAME: line N: message", what a person needs to find and fix it; `line`
    is 0 when the problem is the script as a whole (too large, not UTF-8)."""

    def __init__(self, script: str, line: int, message: str) -> None:
        super().__init__(script, line, message)
        self.script = script
        self.line = line
        self.message = message

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.script}: {self.message}"
        return f"{self.script}: line {self.line}: {self.message}"


class ScriptFault(Exception):
    """Raised inside compilation or a run where the script's name is not at hand; the
    caller that knows it turns it into a `SieveError`."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message
