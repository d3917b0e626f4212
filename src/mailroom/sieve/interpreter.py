"""`run`: a message through the sequence of scripts (global before-scripts, the
member's active script, global after-scripts), to an `Outcome`.

The sequence follows Pigeonhole's (Dovecot's sieve_before/sieve_after): each script
runs on its own (own variables, own implicit keep); the next one runs only while the
message is still kept, by implicit keep or an explicit `keep`, so a before-script that
files or discards the message ends the sequence. `stop` ends only its script. The
actions of all scripts add up; only the last script's implicit keep is taken. A
run-time error anywhere ends the run with the message kept (RFC 5228 §2.10.6).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace

from mailroom.sieve.actions import FileInto, Keep, Outcome
from mailroom.sieve.context import RunContext
from mailroom.sieve.errors import ScriptFault
from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.runtime import ReturnFromInclude, Run, StopScript, execute_block
from mailroom.sieve.script import Script


def run(scripts: Sequence[Script], context: RunContext, limits: SieveLimits) -> Outcome:
    """Never raises for a script's fault: `Outcome.failed` says what went wrong."""
    state = Run(context, limits)
    try:
        for script in scripts:
            run_script(state, script)
            if not (state.implicit_keep or state.explicit_keep):
                break
        _implicit_keep(state)
    except ScriptFault as fault:
        return _failed(state, f"{state.script}: line {fault.line}: {fault.message}")
    except RecursionError:
        return _failed(state, f"{state.script}: line {state.line}: nested too deeply")
    return Outcome(tuple(state.actions), tuple(state.duplicate_marks), None, tuple(state.log))


def run_script(state: Run, script: Script) -> None:
    state.start_script(script.name)
    state.declared_globals = script.globals
    # `return` at the top of a script ends it as `stop` would (RFC 6609 §3.3).
    with contextlib.suppress(StopScript, ReturnFromInclude):
        execute_block(state, script.body)


def _implicit_keep(state: Run) -> None:
    # RFC 5228 §2.10.2: the implicit keep, with the internal flags (RFC 5232 §5).
    if not state.implicit_keep:
        return
    for index, action in enumerate(state.actions):
        if isinstance(action, Keep) or (
            isinstance(action, FileInto) and action.folder.upper() == "INBOX"
        ):
            # Already stored in INBOX once (§2.10.3): the flags are combined.
            extra = tuple(f for f in state.flags if f not in action.flags)
            state.actions[index] = replace(action, flags=action.flags + extra)
            return
    state.line = 0
    state.actions.append(Keep(state.flags, True, state.message.header_change()))
    state.log.append(f"{state.script}: keep (implicit)")


def _failed(state: Run, reason: str) -> Outcome:
    log = (*state.log, f"failed: {reason}; keeping the message")
    return Outcome((Keep(implicit=True),), (), reason, log)
