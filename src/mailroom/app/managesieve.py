"""The ManageSieve services of a host: where each account's scripts are (Pigeonhole's
layout, `store.locate_sieve`), their quota, and the script checker, `mailroom.sieve`'s,
injected into the protocol as its `ScriptChecker` seam."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mailroom.app.host_files import data_dir
from mailroom.app.services import Services, external_login
from mailroom.config import Config
from mailroom.directory import NotFound
from mailroom.managesieve.services import (
    ManageSieveServices,
    ManageSieveSettings,
    ScriptChecker,
)
from mailroom.sieve import EXTENSIONS, SieveLimits, check_script
from mailroom.store import ScriptQuota, SieveScripts, locate_sieve


def script_checker(limits: SieveLimits) -> ScriptChecker:
    """`mailroom.sieve.check_script` as ManageSieve asks it: the error's text, naming
    the line (the client knows which script it sent)."""

    def check(source: bytes, name: str) -> str | None:
        error = check_script(source, name=name, limits=limits)
        if error is None:
            return None
        return f"line {error.line}: {error.message}" if error.line > 0 else error.message

    return check


def scripts_opener(services: Services) -> Callable[[str], Awaitable[SieveScripts]]:
    """How a ManageSieve session finds the scripts of a logged-in address: the same
    account record the login read (see `services.account_opener`)."""
    config = services.config
    quota = script_quota(config)

    async def open_scripts(address: str) -> SieveScripts:
        record = await services.authenticator.account(address)
        if record is None or record.address != address:  # changed since the login
            raise NotFound(f"no account {address}")
        location = locate_sieve(config.sieve, config.mailbox, data_dir(config), address)
        return SieveScripts(location, quota)

    return open_scripts


def script_quota(config: Config) -> ScriptQuota:
    sieve = config.sieve
    return ScriptQuota(
        max_scripts=sieve.max_scripts,
        max_storage=sieve.max_storage,
        max_script_size=sieve.max_script_size,
    )


def managesieve_services(services: Services) -> ManageSieveServices:
    sieve = services.config.sieve
    return ManageSieveServices(
        settings=ManageSieveSettings(
            max_script_size=sieve.max_script_size,
            max_redirects=sieve.max_redirects,
            extensions=tuple(EXTENSIONS),
        ),
        authenticator=services.authenticator,
        tls=services.tls,
        open_scripts=scripts_opener(services),
        check_script=script_checker(SieveLimits.from_config(sieve)),
        external=external_login(services),
    )
