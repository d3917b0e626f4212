"""`[server] workers = 2`: what the host's processes share beyond the throttle and the
IDLE wake-ups of test_workers.py: the count of logins per account and address, the
folder-list NOTIFY events, the one configuration the main process read, and the
connection cap its workers' descriptors allow."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.mailhost.test_workers import (
    LISTENERS,
    SETTINGS,
    RunningServer,
    one_session_per_worker,
    served_by,
)
from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, client_tls
from tests.support.processes import children_of, until
from tests.support.server_process import logged, prepare_host_ports, start_server

LOGIN = f'LOGIN alice@example.test "{PASSWORD}"'


@contextlib.asynccontextmanager
async def running(tmp_path: Path, settings: dict[str, str]) -> AsyncIterator[RunningServer]:
    config, ports = await prepare_host_ports(tmp_path / "host", settings, LISTENERS)
    process = await start_server(config)
    try:
        yield RunningServer(process, config, ports)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()


async def test_logins_per_account_and_address_are_counted_on_both_workers_together(
    tmp_path: Path,
) -> None:
    capped = {**SETTINGS, "# max_connections_per_user_ip = 10": "max_connections_per_user_ip = 1"}
    async with running(tmp_path, capped) as server:
        first, second = await one_session_per_worker(server, log_in=False)
        assert (await first.command(LOGIN)).ok
        refused = await second.command(LOGIN)  # on the other worker: still the second login
        assert refused.status == "NO"
        assert b"[LIMIT] Maximum number of connections from user+IP exceeded." in refused.tagged
        assert (await first.command("LOGOUT")).ok
        await first.close()

        async def second_logs_in() -> bool:  # once the logout reached the main process
            return (await second.command(LOGIN)).ok

        for _ in range(100):
            if await second_logs_in():
                break
        else:
            raise AssertionError("the first session's login was never freed")
        await second.close()


async def capabilities_of_both_workers(server: RunningServer) -> set[str]:
    found = set()
    for talk in await one_session_per_worker(server):  # APPENDLIMIT is said once logged in
        found.add((await talk.command("CAPABILITY")).lines("CAPABILITY")[0])
        await talk.close()
    return found


async def test_a_restarted_worker_serves_the_config_of_the_main_process_not_the_edited_file(
    tmp_path: Path,
) -> None:
    limited = {**SETTINGS, '# max_message_size = "50M"': 'max_message_size = "5M"'}
    async with running(tmp_path, limited) as server:
        assert {
            re.search(r"APPENDLIMIT=\d+", c)[0]  # type: ignore[index]
            for c in await capabilities_of_both_workers(server)
        } == {"APPENDLIMIT=5242880"}
        text = server.config.read_text()
        server.config.write_text(text.replace('max_message_size = "5M"', 'max_message_size = "7M"'))
        before = server.workers
        os.kill(min(before), signal.SIGKILL)
        await logged(server.config, "killed by signal 9; starting it again")
        await until(lambda: len(server.workers - before) == 1, what="a new worker")
        await logged(server.config, "worker 0 ready again")  # taking connections
        seen = await capabilities_of_both_workers(server)
        assert {re.search(r"APPENDLIMIT=\d+", c)[0] for c in seen} == {  # type: ignore[index]
            "APPENDLIMIT=5242880"
        }


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running(tmp_path, SETTINGS) as started:
        yield started


async def notify_on_both_workers(server: RunningServer) -> tuple[ImapTalk, ImapTalk]:
    listener, changer = await one_session_per_worker(server)
    reply = await listener.command(
        "NOTIFY SET (personal (MailboxName SubscriptionChange MessageNew MessageExpunge))"
    )
    assert reply.ok, reply.text
    return listener, changer


async def next_list_line(talk: ImapTalk) -> tuple[set[str], str]:
    """The attributes and the rest (separator, name, OLDNAME) of the next `* LIST`."""
    async with asyncio.timeout(10):  # a bound on a lost event, not a measurement
        while not (line := await talk.read_response()).startswith(b"* LIST"):
            pass
    found = re.fullmatch(r"\* LIST \(([^)]*)\) (.*)", line.decode())
    assert found, line
    return set(found.group(1).split()), found.group(2)


async def test_folder_list_changes_in_one_worker_are_notified_in_the_other(
    server: RunningServer,
) -> None:
    listener, changer = await notify_on_both_workers(server)
    port = server.ports["imaps"]
    assert served_by(listener, port, server.workers) != served_by(changer, port, server.workers)

    assert (await changer.command("CREATE Projects")).ok
    assert await next_list_line(listener) == ({"\\HasNoChildren"}, '"." "Projects"')
    assert (await changer.command("SUBSCRIBE Projects")).ok
    attributes, name = await next_list_line(listener)
    assert "\\Subscribed" in attributes and name == '"." "Projects"'
    assert (await changer.command("RENAME Projects Finished")).ok
    _, name = await next_list_line(listener)
    assert name == '"." "Finished" ("OLDNAME" ("Projects"))'
    assert (await changer.command("DELETE Finished")).ok
    attributes, name = await next_list_line(listener)
    assert "\\NonExistent" in attributes and name == '"." "Finished"'
    await listener.close()
    await changer.close()


OPEN_FILES = 300
"""The server's hard open-file limit in the cap test: with 256 kept in reserve and 2 per
connection, 22 connections per process."""
MANY = 30
"""More than the main process's own descriptors allow (22, and 11 per client address)."""


def low_open_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


async def test_the_host_connection_cap_comes_from_the_workers_descriptor_limits(
    tmp_path: Path,
) -> None:
    wide = {**SETTINGS, 'tls = "implicit"\n': 'tls = "implicit"\nmax_connections_per_ip = 100\n'}
    config, ports = await prepare_host_ports(tmp_path / "host", wide, LISTENERS)
    process = await start_server(config, before_exec=low_open_file_limit)
    try:
        # The sockets live in the workers: more than the main process could hold are served.
        sessions = [await ImapTalk.open(ports["imaps"], tls=client_tls()) for _ in range(MANY)]
        assert all(talk.greeting.startswith(b"* OK") for talk in sessions)
        workers = children_of(process.pid)
        served = [served_by(talk, ports["imaps"], workers) for talk in sessions]
        assert sorted(served.count(pid) for pid in workers) == [MANY // 2, MANY // 2]
        for talk in sessions:
            await talk.close()
        await logged(
            config,
            "limits: 66 connections for the host: 22 in the main process (open files 300) "
            "+ 2 workers × (22, 22) (open files 300; 2 per connection, 256 kept), "
            "33 per client address",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
