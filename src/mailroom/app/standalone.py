"""Single services for the `mailroom` commands, built as the host builds them.

A command that changes the directory, checks a login or administers the queue while
no server runs needs one or two services, not the whole host: it asks for them here,
so that the command builds nothing itself and gets what `serve` would use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mailroom.app.host_files import queue_dir
from mailroom.auth import Authenticator
from mailroom.config import Config
from mailroom.control.administration import QueueAdministration
from mailroom.delivery.bounces import Bouncer
from mailroom.delivery.srs import SrsRewriter
from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
from mailroom.mailauth import DkimKeys
from mailroom.queue import MailQueue, RetrySchedule
from mailroom.routing import Router


@asynccontextmanager
async def open_queue(config: Config) -> AsyncIterator[MailQueue]:
    """The queue of `config`, opened (and so locked: QueueInUse if a server has it)."""
    queue = MailQueue(queue_dir(config), schedule=RetrySchedule.from_config(config.queue))
    async with queue:
        yield queue


def bouncer_for(
    config: Config, queue: MailQueue, router: Router | None, srs: SrsRewriter | None = None
) -> Bouncer:
    """Delivery reports of `queue` (to the senders' final recipients if `router` is given;
    reports to our SRS addresses to the senders they stand for, with `srs`)."""
    return Bouncer(
        queue,
        config.hostname,
        router=router,
        delay_warning=config.delivery.delay_warning_hours * 3600 or None,
        srs=srs,
    )


def queue_administration(
    config: Config, queue: MailQueue, router: Router | None = None
) -> QueueAdministration:
    """What the running host's control channel does, done here on an opened queue;
    delivery reports go to the senders' final recipients if `router` is given."""
    return QueueAdministration(queue, bouncer_for(config, queue, router))


@asynccontextmanager
async def login_checker(config: Config, directory: Directory) -> AsyncIterator[Authenticator]:
    """An authenticator that decides as the servers' does but changes nothing: no
    hash upgrade, no throttle counts (`mailroom auth test`)."""
    passwords = config.auth.passwords.model_copy(update={"upgrade_on_login": False})
    settings = config.auth.model_copy(update={"passwords": passwords})
    authenticator = Authenticator(directory, settings, throttle=None)
    try:
        yield authenticator
    finally:
        await authenticator.close()


def password_hasher(config: Config) -> PasswordHasher:
    """Hashes new passwords with the config's argon2id parameters."""
    return PasswordHasher(config.auth.passwords)


def dkim_keys(config: Config, selector: str | None = None) -> DkimKeys:
    """The DKIM key directory of `config`, for `selector` (default: the config's).
    DkimError if the selector is no valid name."""
    return DkimKeys(config.resolve(config.dkim.key_directory), selector or config.dkim.selector)
