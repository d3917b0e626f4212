"""When each app password was last used, as the members' page shows it: written to the
directory at most every `USE_INTERVAL` seconds per process (a mail client logs in many
times a minute), without bumping the directory's version (`Transactions._recording`),
and never failing the login it records."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mailroom.directory import Directory, DirectoryError
from mailroom.directory.app_passwords import AppPassword

log = logging.getLogger("mailroom.auth")

USE_INTERVAL = 300.0
"""An app password's last use is written at most this often (seconds) by one process."""
MAX_REMEMBERED = 10_000
"""App passwords whose last write this process remembers (then it forgets them all)."""


class AppPasswordUses:
    def __init__(self, directory: Directory, clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._clock = clock
        self._written: dict[int, float] = {}
        """App password id -> when this process last wrote its last use."""

    async def note(self, app_password: AppPassword) -> None:
        """`app_password` logged in just now."""
        now = self._clock()
        written = self._written.get(app_password.id)
        if written is not None and now - written < USE_INTERVAL:
            return
        if len(self._written) >= MAX_REMEMBERED:
            self._written.clear()
        self._written[app_password.id] = now
        try:
            await self._directory.record_app_password_use(app_password.id, datetime.now(UTC))
        except DirectoryError as error:
            log.warning(
                "auth: could not note the use of app password id=%d of account=%s: %s",
                app_password.id,
                app_password.account,
                error,
            )
