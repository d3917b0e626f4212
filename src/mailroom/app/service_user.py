"""The unprivileged service user the server runs as (`[server] user` and `group`).

Mail is owned by one service user, as in Dovecot's virtual-user setups. Started as
root, `serve` reads its TLS keys as root, then acts as the service user
(`act_as`: effective ids only) while it builds the host, so that every file it creates
(the SQLite directory, the SRS secret, the queue) is the user's; it takes root back only
to bind the listening sockets (`privileged`) and then drops root for good
(`drop_for_good`: setgroups([]), setresgid, setresuid) before it serves a connection,
starts delivery or spawns a worker process. Nothing it runs can then create a
root-owned file in a Maildir or the data directory.

Started as another user, the server runs as that user: `[server] user` may only name it.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailroom.app.protocols import WORKER_PROTOCOLS
from mailroom.config import Config, TlsMode
from mailroom.directory.database import database_of


class ServiceUserError(Exception):
    """The service user cannot be used as configured; the message says what to do."""


@dataclass(frozen=True)
class ServiceUser:
    """Whom a server started as root becomes."""

    name: str
    uid: int
    group: str
    gid: int


def service_user(config: Config, *, euid: int | None = None) -> ServiceUser | None:
    """The user a server started with effective uid `euid` (default: this process's)
    must become; None when it already runs as the right user. ServiceUserError for root
    without `[server] user`, an unknown user or group, or another user than the one
    running."""
    euid = os.geteuid() if euid is None else euid
    where = f" in {config.source}" if config.source else ""
    wanted = config.server.user
    if euid == 0 and wanted is None:
        raise ServiceUserError(
            f"refusing to run as root without [server] user{where}: set user (and group) to "
            "the unprivileged service user that owns the mail"
        )
    if wanted is None:
        return None
    try:
        account = pwd.getpwnam(wanted)
    except KeyError:
        raise ServiceUserError(f"[server] user {wanted!r}{where}: no such user") from None
    gid = account.pw_gid
    if config.server.group is not None:
        try:
            gid = grp.getgrnam(config.server.group).gr_gid
        except KeyError:
            raise ServiceUserError(
                f"[server] group {config.server.group!r}{where}: no such group"
            ) from None
    group = _group_name(gid)
    if euid != 0:
        if account.pw_uid != euid:
            raise ServiceUserError(
                f"started as {_user_name(euid)} but [server] user is {wanted!r}{where}: "
                f"start it as root (it then runs as {wanted}) or as {wanted}"
            )
        if gid != os.getegid() and gid not in os.getgroups():
            raise ServiceUserError(
                f"started without group {group!r} ([server] group{where}): start it as "
                f"root or with that group"
            )
        return None
    if account.pw_uid == 0:
        raise ServiceUserError(
            f"[server] user {wanted!r}{where} is root: name an unprivileged user"
        )
    return ServiceUser(wanted, account.pw_uid, group, gid)


def act_as(user: ServiceUser) -> None:
    """From now on create files and check permissions as `user` (effective ids), with
    root still at hand for `privileged` and `drop_for_good`."""
    os.setgroups([])
    os.setegid(user.gid)
    os.seteuid(user.uid)


@contextlib.contextmanager
def privileged(user: ServiceUser) -> Iterator[None]:
    """Root again for a moment (binding ports below 1024), then `user` again."""
    os.seteuid(0)
    try:
        yield
    finally:
        os.seteuid(user.uid)


def drop_for_good(user: ServiceUser) -> None:
    """Become `user` in every id (real, effective, saved): root cannot be taken back.
    Child processes started afterwards (the workers) run as `user` too."""
    if os.geteuid() != 0:
        os.seteuid(0)  # setresgid needs the capability root's effective id gives
    os.setgroups([])
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    if os.getresuid() != (user.uid,) * 3 or os.getresgid() != (user.gid,) * 3:
        raise ServiceUserError(f"could not become user {user.name}; stopping")
    with contextlib.suppress(PermissionError):
        os.setuid(0)
        raise ServiceUserError(f"root could be taken back after becoming {user.name}; stopping")


def check_writable(config: Config, user: ServiceUser) -> None:
    """With the effective ids of `user` (after `act_as`): the data directory, its
    entries (the queue, the SRS secret, ...) and an SQLite directory file and its folder
    must be writable by the user. ServiceUserError names the first path that is not."""
    data = config.resolve(config.data_dir)
    paths = [data]
    if data.is_dir():
        with contextlib.suppress(OSError):
            paths.extend(sorted(data.iterdir()))
    database = sqlite_file(config)
    if database is not None:
        # SQLite writes its journal (-wal, -shm) beside the file.
        paths.extend([database.parent, database])
    for path in paths:
        _check_one(path, user)


def sqlite_file(config: Config) -> Path | None:
    """The directory's SQLite file, if it is kept in one."""
    database = database_of(config.directory, config.source.parent if config.source else None)
    name = database.url.database
    if database.url.get_backend_name() != "sqlite" or name in {None, "", ":memory:"}:
        return None
    return Path(str(name))


def check_runnable(user: ServiceUser) -> None:
    """With the effective ids of `user`: Python's standard library and Mailroom's code
    must be readable by it (a module imported late, and every worker process, is read as
    the service user). A Python installed under /root (pyenv's default) is not."""
    for path in (Path(sysconfig.get_paths()["stdlib"]), Path(__file__).parents[1]):
        if not os.access(path, os.R_OK | os.X_OK, effective_ids=True):
            raise ServiceUserError(
                f"{path}: not readable by user {user.name}; install Python and Mailroom "
                "where the service user can read them (a venv in /opt/mailroom)"
            )


def check_keys_readable(config: Config, user: ServiceUser) -> None:
    """Worker processes (`[server] workers` > 1) start as the service user and read the
    TLS keys themselves: with the effective ids of `user`, each key of a listener they
    serve must be readable. ServiceUserError names the first that is not."""
    if config.server.worker_count(os.cpu_count()) <= 1:
        return
    for listener in config.listeners:
        if listener.tls is TlsMode.NONE or listener.protocol not in WORKER_PROTOCOLS:
            continue
        key = config.resolve(listener.key or config.tls.key)
        if key.exists() and not os.access(key, os.R_OK, effective_ids=True):
            raise ServiceUserError(
                f"{key}: not readable by user {user.name}, which the worker processes run "
                f"as; chgrp {user.group} {key} && chmod 0640 {key}"
            )


def _check_one(path: Path, user: ServiceUser) -> None:
    fix = f"chown -R {user.name}:{user.group} {path}"
    if not path.exists() and not path.is_symlink():
        parent = next((each for each in path.parents if each.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK, effective_ids=True):
            raise ServiceUserError(
                f"{path}: missing, and user {user.name} cannot create it in {parent}; "
                f"create it: install -d -o {user.name} -g {user.group} {path}"
            )
        return
    if path.is_socket():
        return  # the control socket: replaced at start by whoever runs
    wanted = os.W_OK | os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, wanted, effective_ids=True):
        raise ServiceUserError(f"{path}: not writable by user {user.name}; {fix}")


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
