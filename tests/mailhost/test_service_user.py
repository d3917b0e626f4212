"""`[server] user` and `group`: `mailroom serve` started as root binds its ports, then
runs (main process and workers) as the service user, and leaves no root-owned file in
the data directory; it refuses root without `user`, and names a data directory the
user cannot write. Who a process runs as is read from /proc/PID/status, not from the
server.

The server is a real `mailroom serve` process started as root (these tests need
root), started as tests/support/service_process.py says.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.app.service_user import ServiceUser, ServiceUserError, service_user
from mailroom.config import Config, load_config
from mailroom.config.example import ListenerExample
from tests.support.installation import invoke
from tests.support.mail_host import PASSWORD, client_tls
from tests.support.processes import children_of
from tests.support.required import require_root
from tests.support.server_process import prepare_host_ports
from tests.support.service_process import running, serve_command

# CI runs as root, and there these tests must run (a non-root CI fails them, never skips).


@pytest.fixture(autouse=True)
def _as_root() -> None:
    require_root("starts the server as root")


LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("imap", "imap", 0, "starttls"),
)
SERVICE = {
    "# workers = 1": "workers = 2",
    '# user = "mailroom"  # example; default: none': 'user = "nobody"',
    '# group = "mailroom"  # example; default: the user\'s primary group': 'group = "nogroup"',
    # The SQLite directory inside the data directory, which the service user owns.
    'url = "sqlite:///directory.sqlite3"': 'url = "sqlite:///data/directory.sqlite3"',
}
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def host_root() -> Iterator[Path]:
    """A host directory the service user can enter (pytest's tmp_path is root's, 0700)."""
    root = Path(tempfile.mkdtemp(prefix="mailroom-service-user-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def prepared(
    root: Path, settings: dict[str, str], *, key_for_group: bool = True
) -> tuple[Path, dict[str, int]]:
    (root / "data").mkdir()
    config, ports = await prepare_host_ports(root, settings, LISTENERS)
    key = root / "tls" / "key.pem"
    if key_for_group:
        # Root's, readable by the service group (the README's recipe): worker processes
        # read it as the service user.
        os.chown(key, 0, NOBODY.pw_gid)
        key.chmod(0o640)
    else:
        key.chmod(0o600)
    return config, ports


def hand_over(path: Path) -> None:
    """`chown -R nobody:nogroup PATH`, as the README says after a root-run command."""
    for each in [path, *path.rglob("*")]:
        os.lchown(each, NOBODY.pw_uid, NOBODY.pw_gid)


def ids_of(pid: int) -> tuple[list[int], list[int], str]:
    """Real, effective, saved and filesystem uids and gids, and supplementary groups."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    uids = [int(each) for each in fields["Uid"].split()]
    gids = [int(each) for each in fields["Gid"].split()]
    return uids, gids, fields["Groups"].strip()


def root_owned(path: Path) -> list[Path]:
    return [each for each in [path, *path.rglob("*")] if each.lstat().st_uid == 0]


async def test_server_started_as_root_runs_as_the_service_user_and_leaves_no_root_file(
    host_root: Path,
) -> None:
    config, ports = await prepared(host_root, SERVICE)
    hand_over(host_root / "data")
    async with running(config) as process:
        workers = children_of(process.pid)
        assert len(workers) == 2
        for pid in [process.pid, *workers]:
            assert ids_of(pid) == ([NOBODY.pw_uid] * 4, [NOBODY.pw_gid] * 4, "")

        def converse() -> int:
            with smtplib.SMTP("127.0.0.1", ports["smtp"]) as smtp:
                smtp.sendmail(
                    "someone@outside.example",
                    ["alice@example.test"],
                    b"Subject: hello\r\n\r\nfrom outside\r\n",
                )
            with imaplib.IMAP4("127.0.0.1", ports["imap"]) as imap:
                imap.starttls(client_tls())
                imap.login("alice@example.test", PASSWORD)
                status, data = imap.select("INBOX")
                assert status == "OK"
                imap.create("Projects")
                imap.logout()
            return int(data[0] or 0)

        assert await asyncio.to_thread(converse) == 1
    assert process.returncode == 0
    assert root_owned(host_root / "data") == []
    maildir = host_root / "data" / "mail" / "example.test" / "alice" / "Maildir"
    assert len(list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())) == 1
    assert (maildir / ".Projects").stat().st_uid == NOBODY.pw_uid


async def test_a_key_only_root_may_read_serves_tls_from_the_main_process(
    host_root: Path,
) -> None:
    one_process = {**SERVICE, "# workers = 1": "workers = 1"}
    config, ports = await prepared(host_root, one_process, key_for_group=False)
    hand_over(host_root / "data")
    async with running(config) as process:
        assert ids_of(process.pid)[0] == [NOBODY.pw_uid] * 4

        def login_over_tls() -> str:
            with imaplib.IMAP4("127.0.0.1", ports["imap"]) as imap:
                imap.starttls(client_tls())
                status, _ = imap.login("alice@example.test", PASSWORD)
                imap.logout()
            return status

        assert await asyncio.to_thread(login_over_tls) == "OK"
    assert root_owned(host_root / "data") == []


async def test_a_key_worker_processes_cannot_read_is_named_at_start(host_root: Path) -> None:
    config, _ = await prepared(host_root, SERVICE, key_for_group=False)
    hand_over(host_root / "data")
    result = await asyncio.to_thread(
        subprocess.run, serve_command(config), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    key = host_root / "tls" / "key.pem"
    assert result.stderr.strip().splitlines() == [
        f"mailroom: error: {key}: not readable by user nobody, which the worker processes "
        f"run as; chgrp nogroup {key} && chmod 0640 {key}"
    ]


async def test_root_without_a_service_user_is_refused_in_one_line(host_root: Path) -> None:
    config, _ = await prepared(host_root, {})
    outcome = invoke("-c", str(config), "serve")
    assert outcome.returncode == 1
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "refusing to run as root without [server] user" in lines[0]
    assert str(config) in lines[0]


async def test_a_data_dir_the_service_user_cannot_write_is_named_at_start(
    host_root: Path,
) -> None:
    config, _ = await prepared(host_root, SERVICE)  # the data directory stays root's
    result = await asyncio.to_thread(
        subprocess.run, serve_command(config), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"mailroom: error: {host_root / 'data'}: not writable by user nobody; "
        f"chown -R nobody:nogroup {host_root / 'data'}"
    ]
    assert "running" not in result.stdout


def config_with(root: Path, server: str) -> Config:
    path = root / "mailroom.toml"
    path.write_text(f"[server]\n{server}\n")
    return load_config(path)


def test_a_server_started_as_another_user_must_be_that_user(host_root: Path) -> None:
    config = config_with(host_root, 'user = "daemon"')
    with pytest.raises(ServiceUserError, match=r"as nobody but \[server\] user is 'daemon'"):
        service_user(config, euid=NOBODY.pw_uid)
    assert service_user(config_with(host_root, ""), euid=NOBODY.pw_uid) is None


def test_unknown_users_groups_and_root_itself_are_refused(host_root: Path) -> None:
    with pytest.raises(ServiceUserError, match=r"user 'no-such-user'.*: no such user"):
        service_user(config_with(host_root, 'user = "no-such-user"'), euid=0)
    with pytest.raises(ServiceUserError, match=r"group 'no-such-group'.*: no such group"):
        service_user(config_with(host_root, 'user = "nobody"\ngroup = "no-such-group"'), euid=0)
    with pytest.raises(ServiceUserError, match="is root: name an unprivileged user"):
        service_user(config_with(host_root, 'user = "root"'), euid=0)
    chosen = service_user(config_with(host_root, 'user = "nobody"'), euid=0)
    assert chosen == ServiceUser("nobody", NOBODY.pw_uid, "nogroup", NOBODY.pw_gid)


async def test_a_root_owned_directory_file_left_by_a_command_is_named_at_start(
    host_root: Path,
) -> None:
    config, _ = await prepared(host_root, SERVICE)
    hand_over(host_root / "data")
    database = host_root / "data" / "directory.sqlite3"
    os.chown(database, 0, 0)  # as `mailroom user add` run as root would leave it
    result = await asyncio.to_thread(
        subprocess.run, serve_command(config), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"mailroom: error: {database}: not writable by user nobody; "
        f"chown -R nobody:nogroup {database}"
    ]
