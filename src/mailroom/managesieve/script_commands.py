"""The commands on an authenticated account's scripts (RFC 5804 §2.5-2.12): HAVESPACE,
PUTSCRIPT, CHECKSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT.

Each takes the command, the account's `SieveScripts` and the checker, and returns the
whole answer to send, or raises `ManageSieveError`; it never sees the session. The
store's work (fsyncs) and the checker (a large script's parse) run in a thread.
"""

from __future__ import annotations

import asyncio

from mailroom.managesieve.commands import (
    CheckScript,
    Command,
    DeleteScript,
    GetScript,
    HaveSpace,
    ListScripts,
    PutScript,
    RenameScript,
    SetActive,
)
from mailroom.managesieve.responses import (
    ACTIVE,
    ALREADYEXISTS,
    NONEXISTENT,
    ManageSieveError,
    literal,
    no,
    status,
    string,
)
from mailroom.managesieve.services import ScriptChecker
from mailroom.store import (
    NoSuchScript,
    ScriptExists,
    ScriptIsActive,
    ScriptNameError,
    ScriptQuotaExceeded,
    ScriptStoreError,
    SieveScripts,
)

CHECKED_NAME = "checkscript"
"""The name a CHECKSCRIPT script is judged under (it has none)."""


async def run_script_command(
    command: Command, scripts: SieveScripts, check: ScriptChecker
) -> bytes:
    """The answer to one script command."""
    try:
        match command:
            case HaveSpace(name=name, size=size):
                await asyncio.to_thread(scripts.check_space, name, size)
                return status("OK", "Putscript would succeed.")
            case PutScript(name=name, script=script):
                return await _put(scripts, check, name, script)
            case CheckScript(script=script):
                await _checked(check, script, CHECKED_NAME)
                return status("OK", "Script is valid.")
            case ListScripts():
                return await asyncio.to_thread(_listing, scripts)
            case SetActive(name=""):
                await asyncio.to_thread(scripts.deactivate)
                return status("OK", "Script deactivated.")
            case SetActive(name=name):
                await _activate(scripts, check, name)
                return status("OK", "Setactive completed.")
            case GetScript(name=name):
                data = await asyncio.to_thread(scripts.get, name)
                return literal(data) + b"\r\n" + status("OK", "Getscript completed.")
            case DeleteScript(name=name):
                await asyncio.to_thread(scripts.delete, name)
                return status("OK", "Deletescript completed.")
            case RenameScript(old=old, new=new):
                await asyncio.to_thread(scripts.rename, old, new)
                return status("OK", "Renamescript completed.")
    except ScriptStoreError as error:
        raise _refusal(error) from None
    raise ValueError(f"not a script command: {command!r}")


def _refusal(error: ScriptStoreError) -> ManageSieveError:
    """The store's refusals as RFC 5804 §1.3 response codes."""
    text = str(error)
    if isinstance(error, ScriptQuotaExceeded):
        return no(text, error.kind.value)
    if isinstance(error, NoSuchScript):
        return no(text, NONEXISTENT)
    if isinstance(error, ScriptExists):
        return no(text, ALREADYEXISTS)
    if isinstance(error, ScriptIsActive):
        return no(text, ACTIVE)
    if isinstance(error, ScriptNameError):
        return no(text, bad_command=True)
    return no(text)


async def _checked(check: ScriptChecker, script: bytes, name: str) -> None:
    problem = await asyncio.to_thread(check, script, name)
    if problem is not None:
        raise no(problem)


async def _put(scripts: SieveScripts, check: ScriptChecker, name: str, script: bytes) -> bytes:
    # The quota first (cheap, and what a client uploading too much must hear), then the
    # script itself (RFC 5804 §2.6: an invalid script is not stored).
    await asyncio.to_thread(scripts.check_space, name, len(script))
    await _checked(check, script, name)
    await asyncio.to_thread(scripts.put, name, script)
    return status("OK", "Putscript completed.")


async def _activate(scripts: SieveScripts, check: ScriptChecker, name: str) -> None:
    # RFC 5804 §2.8: a script that would not run (one left by another server) is not
    # made active; what is wrong with it is the answer.
    source = await asyncio.to_thread(scripts.get, name)
    await _checked(check, source, name)
    await asyncio.to_thread(scripts.activate, name)


def _listing(scripts: SieveScripts) -> bytes:
    lines = [
        string(info.name) + (b" ACTIVE" if info.active else b"") + b"\r\n"
        for info in scripts.list()
    ]
    return b"".join(lines) + status("OK", "Listscripts completed.")


SCRIPT_COMMANDS = (
    HaveSpace,
    PutScript,
    CheckScript,
    ListScripts,
    SetActive,
    GetScript,
    DeleteScript,
    RenameScript,
)
"""The commands `run_script_command` answers (authenticated state only)."""
