"""Members' Sieve scripts as the self-service pages reach them (`web.context.MemberScripts`):
the same store and the same checker ManageSieve uses (`app.managesieve`), so a script
written on the web is one ManageSieve lists, and delivery runs, like any other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mailroom.app.managesieve import script_checker, scripts_opener
from mailroom.app.services import Services
from mailroom.managesieve.services import ScriptChecker
from mailroom.sieve import SieveLimits
from mailroom.store import SieveScripts
from mailroom.store.sieve_scripts import NoSuchScript, ScriptStoreError
from mailroom.web.context import MemberScripts, ScriptRefused, ScriptState


class StoredScripts:
    """`MemberScripts` over `store.SieveScripts` (blocking: each call runs in a thread)."""

    def __init__(self, scripts: SieveScripts, check: ScriptChecker) -> None:
        self._scripts = scripts
        self._check = check

    async def state(self, name: str) -> ScriptState:
        return await asyncio.to_thread(self._state, name)

    def _state(self, name: str) -> ScriptState:
        scripts = self._scripts
        try:
            source: bytes | None = scripts.get(name)
        except NoSuchScript:
            source = None
        link = scripts.active_link
        hand_written = link.exists() and not link.is_symlink()
        return ScriptState(source, scripts.active_name(), hand_written)

    async def save(self, name: str, source: bytes, *, activate: bool) -> None:
        problem = self._check(source, name)
        if problem is not None:
            raise ScriptRefused(f"the script was not accepted: {problem}")
        try:
            await asyncio.to_thread(self._save, name, source, activate)
        except ScriptStoreError as error:
            raise ScriptRefused(str(error)) from error

    def _save(self, name: str, source: bytes, activate: bool) -> None:
        self._scripts.put(name, source)
        if activate:
            self._scripts.activate(name)


def member_scripts(services: Services) -> Callable[[str], Awaitable[MemberScripts]] | None:
    """How the web opens an account's scripts; None when `[sieve]` is off."""
    sieve = services.config.sieve
    if not sieve.enabled:
        return None
    open_scripts = scripts_opener(services)
    check = script_checker(SieveLimits.from_config(sieve))

    async def opened(address: str) -> MemberScripts:
        return StoredScripts(await open_scripts(address), check)

    return opened
