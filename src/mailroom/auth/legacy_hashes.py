"""Legacy password hashes wrapped in argon2id where they are stored, at start: the pass
over the directory that leaves no crackable hash behind (directory/passwords.py says
what a wrapped hash is).

A database imported from the legacy host holds MD5-crypt (`$1$`) hashes that a GPU
cracks at billions per second; login-by-login upgrades leave those of members who
rarely log in for months. So the host wraps them all when it starts (in the background,
once it listens: 10,000 imported members are about half an hour of one core): each legacy hash
becomes an argon2id hash over its result, which verifies the same passwords. Hashes
already wrapped, argon2 or unusable are left alone, so a second start wraps nothing.
Each is stored with a compare-and-set, so a password changed meanwhile (`mailroom user
passwd`, an upgrade at login) stands.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mailroom.directory import Directory
from mailroom.directory.passwords import LEGACY_SCHEMES, UnknownHashScheme, identify_scheme

log = logging.getLogger("mailroom.auth")

PROGRESS_EVERY = 1000
"""A progress line in the log after this many hashes (each costs an argon2id run)."""


async def wrap_stored_legacy_hashes(
    directory: Directory, wrap: Callable[[str], Awaitable[str]], legacy_scheme: str
) -> int:
    """Wrap the legacy hashes of `directory`'s accounts with `wrap` (a legacy hash -> its
    wrapped hash, run off the event loop); return how many were stored. Warns when most
    were of another scheme than `legacy_scheme` (`[auth.passwords]`), which the timing of
    failed logins is matched to. Raises DirectoryError."""
    legacy = []
    for account in await directory.list_accounts():
        try:
            if identify_scheme(account.password_hash) in LEGACY_SCHEMES:
                legacy.append(account)
        except UnknownHashScheme:
            continue
    if not legacy:
        return 0
    log.info("auth: wrapping the legacy password hashes of %d accounts in argon2id", len(legacy))
    stored = 0
    schemes: dict[str, int] = {}
    # One at a time, each stored at once: the host serves meanwhile (app.host runs this
    # after it listens), its logins share the hashing threads with this pass and must not
    # queue behind thousands of argon2id runs, and a restart resumes where this stopped.
    for done, account in enumerate(legacy, start=1):
        new_hash = await wrap(account.password_hash)
        scheme = identify_scheme(account.password_hash).value
        schemes[scheme] = schemes.get(scheme, 0) + 1
        if await directory.set_password_hash(
            account.address, new_hash, expected_old=account.password_hash
        ):
            stored += 1
        if done % PROGRESS_EVERY == 0:
            log.info("auth: %d of %d legacy password hashes wrapped", done, len(legacy))
    counts = ", ".join(f"{name}={count}" for name, count in sorted(schemes.items()))
    log.info("auth: wrapped %d legacy password hashes in argon2id (%s)", stored, counts)
    typical = max(schemes, key=lambda name: schemes[name])
    if typical != legacy_scheme:
        log.warning(
            "auth: most wrapped hashes are %s but [auth.passwords] legacy_scheme = %r: "
            "failed logins of unknown and argon2id accounts take a different time than "
            "those of wrapped ones; set legacy_scheme = %r",
            typical,
            legacy_scheme,
            typical,
        )
    return stored
