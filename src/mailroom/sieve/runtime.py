"""One run's state: the actions taken so far with the rules that combine them (RFC 5228
§2.10), implicit keep, variables, the imap4flags internal variable, and the budgets
(steps, CPU time, actions, redirects) that stop a runaway script.

Compiled commands and tests receive the `Run` and act on it; nothing else is mutable.
A run-time error is a `ScriptFault` raised from here (`run.fail`), which the interpreter
turns into `Outcome.failed` and an implicit keep (RFC 5228 §2.10.6).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Protocol

from mailroom.sieve.actions import (
    Action,
    Discard,
    DuplicateMark,
    FileInto,
    HeaderChange,
    Keep,
    Redirect,
    Reject,
    VacationReply,
)
from mailroom.sieve.context import RunContext
from mailroom.sieve.errors import ScriptFault
from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.message_view import MessageView

_CLOCK_EVERY = 256
"""Steps between two looks at the CPU clock."""


class Executable(Protocol):
    """A compiled command (action or control)."""

    @property
    def line(self) -> int: ...

    def execute(self, run: Run) -> None: ...


class Test(Protocol):
    """A compiled test."""

    @property
    def line(self) -> int: ...

    def evaluate(self, run: Run) -> bool: ...


class StopScript(Exception):
    """`stop` (RFC 5228 §3.3): ends the current script."""


class ReturnFromInclude(Exception):
    """`return` (RFC 6609 §3.3): ends the current included script."""


def execute_block(run: Run, block: tuple[Executable, ...]) -> None:
    for command in block:
        run.step(command.line)
        command.execute(run)


def _same_folder(a: str, b: str) -> bool:
    # RFC 3501 §5.1: INBOX is case-insensitive, other names are not.
    return a == b or (a.upper() == "INBOX" and b.upper() == "INBOX")


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    seen = {flag.lower() for flag in first}
    return first + tuple(flag for flag in second if flag.lower() not in seen)


class Run:
    def __init__(self, context: RunContext, limits: SieveLimits) -> None:
        self.context = context
        self.limits = limits
        self.message = MessageView(context.message.header, context.message.size)
        self.script = ""
        self.line = 0
        self.steps = 0
        self._deadline = time.thread_time() + limits.max_run_seconds
        self.actions: list[Action] = []
        self.log: list[str] = []
        self.duplicate_marks: list[DuplicateMark] = []
        self.implicit_keep = True
        self.explicit_keep = False
        self.redirects = 0
        self.variables: dict[str, str] = {}
        self.global_variables: dict[str, str] = {}
        self.declared_globals: frozenset[str] = frozenset()
        """Names the current script declared with `global` (RFC 6609 §3.5)."""
        self.match_values: tuple[str, ...] = ()
        self.flags: tuple[str, ...] = ()
        """imap4flags' internal variable (RFC 5232 §3)."""
        self.extension_state: dict[str, object] = {}
        """Per-run state an extension keeps under its own name."""

    # budgets -------------------------------------------------------------------------
    def step(self, line: int, cost: int = 1) -> None:
        """Count work done for the command or test at `line`; stop past a budget."""
        self.line = line
        before = self.steps
        self.steps += cost
        if self.steps > self.limits.max_steps:
            raise self.fail(f"the script took more than {self.limits.max_steps} steps")
        if before // _CLOCK_EVERY != self.steps // _CLOCK_EVERY and (
            time.thread_time() > self._deadline
        ):
            raise self.fail(f"the script ran longer than {self.limits.max_run_seconds:g} seconds")

    def fail(self, message: str, line: int | None = None) -> ScriptFault:
        return ScriptFault(self.line if line is None else line, message)

    # actions (RFC 5228 §2.10) -----------------------------------------------------
    def add(self, action: Action) -> None:
        """Take an action: duplicates merged (§2.10.3), conflicts refused (RFC 5429),
        implicit keep cancelled where the RFCs say, limits enforced."""
        header = self.message.header_change()
        if isinstance(action, Reject):
            self._refuse_with_reject("reject")
            if any(isinstance(a, Keep | FileInto | Redirect | VacationReply) for a in self.actions):
                raise self.fail("reject cannot be used with keep, fileinto, redirect or vacation")
            self.implicit_keep = False
        elif isinstance(action, Keep | FileInto):
            self._refuse_with_reject(type(action).__name__.lower())
            folder = "INBOX" if isinstance(action, Keep) else action.folder
            if isinstance(action, Keep) or not action.copy:
                self.implicit_keep = False
            if isinstance(action, Keep):
                self.explicit_keep = True
            if header is not None:
                action = _with_header(action, header)
            for index, taken in enumerate(self.actions):
                if isinstance(taken, Keep | FileInto) and _same_folder(
                    "INBOX" if isinstance(taken, Keep) else taken.folder, folder
                ):
                    # §2.10.3: the same folder twice is stored once; flags combined.
                    self.actions[index] = _with_flags(taken, _merge(taken.flags, action.flags))
                    self._log(f"{_describe(action)} (already taken)")
                    return
        elif isinstance(action, Redirect):
            self._refuse_with_reject("redirect")
            if not action.copy:
                self.implicit_keep = False
            target = action.address.lower()
            if any(isinstance(t, Redirect) and t.address.lower() == target for t in self.actions):
                self._log(f"{_describe(action)} (already taken)")
                return
            if self.redirects >= self.limits.max_redirects:
                raise self.fail(f"more than {self.limits.max_redirects} redirects")
            self.redirects += 1
            if header is not None:
                action = Redirect(action.address, action.copy, header)
        elif isinstance(action, Discard):
            self.implicit_keep = False  # §4.4: only implicit keep; explicit actions stay
            if any(isinstance(t, Discard) for t in self.actions):
                return
        elif isinstance(action, VacationReply):
            self._refuse_with_reject("vacation")
        if len(self.actions) >= self.limits.max_actions:
            raise self.fail(f"more than {self.limits.max_actions} actions")
        self.actions.append(action)
        self._log(_describe(action))

    def _refuse_with_reject(self, what: str) -> None:
        if any(isinstance(a, Reject) for a in self.actions):
            raise self.fail(f"{what} cannot be used after reject (RFC 5429 §2.2)")

    def _log(self, text: str) -> None:
        self.log.append(f"{self.script}:{self.line}: {text}")

    def note(self, text: str) -> None:
        """A line for the delivery log that is not an action (e.g. a skipped vacation)."""
        self._log(text)

    # the sequence of scripts ---------------------------------------------------------
    def start_script(self, name: str) -> None:
        """A new script of the sequence (RFC 5228 per script; variables are per script,
        RFC 5229 §3; the internal flags variable too, RFC 5232 §3)."""
        self.script = name
        self.line = 0
        self.implicit_keep = True
        self.explicit_keep = False
        self.variables = {}
        self.match_values = ()
        self.flags = ()


def _with_header(action: Keep | FileInto, header: HeaderChange) -> Keep | FileInto:
    return replace(action, header=header)


def _with_flags(action: Keep | FileInto, flags: tuple[str, ...]) -> Keep | FileInto:
    return replace(action, flags=flags)


def _describe(action: Action) -> str:
    if isinstance(action, Keep):
        text = "keep (implicit)" if action.implicit else "keep"
        return text + (f" flags {' '.join(action.flags)}" if action.flags else "")
    if isinstance(action, FileInto):
        text = f'fileinto "{action.folder}"' + (" :copy" if action.copy else "")
        return text + (f" flags {' '.join(action.flags)}" if action.flags else "")
    if isinstance(action, Redirect):
        return f"redirect <{action.address}>" + (" :copy" if action.copy else "")
    if isinstance(action, Reject):
        return "ereject" if action.extended else "reject"
    if isinstance(action, Discard):
        return "discard"
    return f"vacation to <{action.sender}>"
