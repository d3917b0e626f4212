"""Password guessing against the whole host, as the attacker of issue #17 did it, with
real clients over real TLS sockets: parallel guesses over every protocol at once check
at most the limit (counted from the server's own log lines), a ban outlives a restart
(file) and is seen by a second server sharing the same Redis, and during a ban the right
password is answered as a temporary failure on every protocol, so clients keep it.
Legacy hashes are wrapped in argon2id at the first start and still log in."""

from __future__ import annotations

import asyncio
import base64
import imaplib
import poplib
import re
import signal
import smtplib
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mailroom import app
from mailroom.config import load_config
from mailroom.config.example import ListenerExample
from mailroom.directory.passwords import identify_scheme
from tests.support.mail_host import PASSWORD, MailHost, client_tls, start_host
from tests.support.managesieve_talk import SieveTalk, plain
from tests.support.password_hashes import LEGACY_HASH
from tests.support.redis_server import REDIS_URL, redis_keys, redis_prefix
from tests.support.server_process import logged, prepare_host_ports, start_server

ALICE = "alice@example.test"
LIMIT = 10
"""The shipped max_failures_per_ip."""

ATTACK_LISTENERS = (
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
    ListenerExample("smtps", "submission", 0, "implicit"),
)
SIEVE = ListenerExample("sieve", "managesieve", 0, "starttls")
WORKERS = {"# workers = 1": "workers = 2"}


def redis_settings(prefix: str) -> dict[str, str]:
    return {
        "# redis_url = ": f'redis_url = "{REDIS_URL}"\n# was: ',
        '# redis_key_prefix = "mailroom:throttle:"': f'redis_key_prefix = "{prefix}"',
    }


# -- the clients: the standard library's, each answer as the client saw it ----------------


def imap_login(port: int, password: str, start: threading.Barrier | None = None) -> str:
    """ "OK", or the text of the NO the server answered LOGIN with."""
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_tls(), timeout=60) as imap:
        if start is not None:
            start.wait()
        try:
            imap.login(ALICE, password)
        except imaplib.IMAP4.error as error:
            text = error.args[0]
            return text.decode() if isinstance(text, bytes) else str(text)
        return "OK"


def pop3_login(port: int, password: str, start: threading.Barrier | None = None) -> str:
    """ "+OK", or the -ERR line the server answered PASS with."""
    pop = poplib.POP3_SSL("127.0.0.1", port, context=client_tls(), timeout=60)
    try:
        pop.user(ALICE)
        if start is not None:
            start.wait()
        try:
            pop.pass_(password)
        except poplib.error_proto as error:
            return bytes(error.args[0]).decode()
        return "+OK"
    finally:
        pop.close()


def smtp_login(port: int, password: str, start: threading.Barrier | None = None) -> str:
    """The reply to AUTH PLAIN, as "code text"."""
    with smtplib.SMTP_SSL("127.0.0.1", port, context=client_tls(), timeout=60) as smtp:
        smtp.ehlo("client.example")
        if start is not None:
            start.wait()
        secret = base64.b64encode(f"\0{ALICE}\0{password}".encode()).decode()
        code, text = smtp.docmd("AUTH", f"PLAIN {secret}")
        return f"{code} {text.decode()}"


LOGINS: dict[str, Callable[..., str]] = {
    "imaps": imap_login,
    "pop3s": pop3_login,
    "smtps": smtp_login,
}


def passwords_checked(log: str) -> int:
    """Passwords the server verified and found wrong, by its own auth log lines."""
    return len(re.findall(r"auth: .*result=fail reason=bad_password", log))


async def run_server(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await start_server(config)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)


async def guess(ports: dict[str, int], protocol: str, times: int) -> list[str]:
    """`times` wrong passwords over `protocol`, one connection each, one after another."""
    login = LOGINS[protocol]
    return [await asyncio.to_thread(login, ports[protocol], f"guess {n}") for n in range(times)]


# -- the attacks ----------------------------------------------------------------------------


async def test_sixty_parallel_guesses_over_three_protocols_check_at_most_the_limit(
    tmp_path: Path,
) -> None:
    # Two worker processes serve IMAP and POP3, the main process SMTP: one budget.
    # The edge's per-address connection cap (50) is raised: this is about the throttle.
    settings = WORKERS | {"# max_connections_per_address = 50": "max_connections_per_address = 100"}
    config, ports = await prepare_host_ports(tmp_path, settings, ATTACK_LISTENERS)
    async for _ in run_server(config):
        start = threading.Barrier(60, timeout=60)
        with ThreadPoolExecutor(max_workers=60) as pool:
            futures = [
                pool.submit(LOGINS[name], ports[name], f"guess {name} {n}", start)
                for name in ("imaps", "pop3s", "smtps")
                for n in range(20)
            ]
            answers = await asyncio.gather(*(asyncio.wrap_future(each) for each in futures))
        await logged(config, "reason=", 10)
    log = (config.parent / "serve.log").read_text()
    checked = passwords_checked(log)
    refused = len(re.findall(r"auth: .*result=fail reason=(ip_in_flight|ip_banned)", log))
    assert 1 <= checked <= LIMIT, log
    assert checked + refused == 60
    assert not [a for a in answers if a in ("OK", "+OK") or a.startswith("235")]
    temporary = [a for a in answers if "[UNAVAILABLE]" in a or "[SYS/TEMP]" in a or "454" in a]
    assert len(temporary) == refused


async def test_a_ban_outlives_a_restart(tmp_path: Path) -> None:
    config, ports = await prepare_host_ports(tmp_path, None, ATTACK_LISTENERS)
    async for _ in run_server(config):
        answers = await guess(ports, "imaps", LIMIT)
        assert all("[AUTHENTICATIONFAILED]" in answer for answer in answers)
        assert "[UNAVAILABLE]" in await asyncio.to_thread(imap_login, ports["imaps"], PASSWORD)
    assert (tmp_path / "data" / "login-bans.json").exists()
    async for _ in run_server(config):
        await logged(config, "1 address bans and 0 account locks read from")
        answer = await asyncio.to_thread(imap_login, ports["imaps"], PASSWORD)
        assert "[UNAVAILABLE]" in answer
        assert (await asyncio.to_thread(smtp_login, ports["smtps"], PASSWORD)).startswith("454")


async def test_two_servers_sharing_one_redis_see_the_same_bans(tmp_path: Path) -> None:
    async for prefix in redis_prefix():
        settings = redis_settings(prefix)
        config_a, ports_a = await prepare_host_ports(tmp_path / "a", settings, ATTACK_LISTENERS)
        config_b, ports_b = await prepare_host_ports(tmp_path / "b", settings, ATTACK_LISTENERS)
        async for _ in run_server(config_a):
            async for _ in run_server(config_b):
                assert await asyncio.to_thread(imap_login, ports_b["imaps"], PASSWORD) == "OK"
                await guess(ports_a, "pop3s", LIMIT)
                assert any(key.startswith(f"{prefix}ban:ip:") for key in await redis_keys(prefix))
                answer = await asyncio.to_thread(imap_login, ports_b["imaps"], PASSWORD)
                assert "[UNAVAILABLE]" in answer
                answer = await asyncio.to_thread(pop3_login, ports_b["pop3s"], PASSWORD)
                assert answer.startswith("-ERR [SYS/TEMP]")
        assert not (tmp_path / "a" / "data" / "login-bans.json").exists()


@pytest.fixture
async def attacked_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host serving every protocol whose client 127.0.0.1 guessed LIMIT times."""
    async for host in start_host(tmp_path / "host", None, (*ATTACK_LISTENERS, SIEVE)):
        ports = {name: host.port(name) for name in LOGINS}
        answers = await guess(ports, "smtps", LIMIT)
        assert all(answer.startswith("535 5.7.8") for answer in answers)
        yield host


async def test_the_right_password_during_a_ban_is_told_to_try_later_over_imap(
    attacked_host: MailHost,
) -> None:
    answer = await asyncio.to_thread(imap_login, attacked_host.port("imaps"), PASSWORD)
    assert answer.startswith("[UNAVAILABLE] "), answer


async def test_the_right_password_during_a_ban_is_told_to_try_later_over_pop3(
    attacked_host: MailHost,
) -> None:
    answer = await asyncio.to_thread(pop3_login, attacked_host.port("pop3s"), PASSWORD)
    assert answer.startswith("-ERR [SYS/TEMP] "), answer


async def test_the_right_password_during_a_ban_is_told_to_try_later_over_smtp(
    attacked_host: MailHost,
) -> None:
    answer = await asyncio.to_thread(smtp_login, attacked_host.port("smtps"), PASSWORD)
    assert answer.startswith("454 4.7.0 "), answer


async def test_the_right_password_during_a_ban_is_told_to_try_later_over_managesieve(
    attacked_host: MailHost,
) -> None:
    talk = await SieveTalk.open(attacked_host.port("sieve"))
    try:
        assert (await talk.starttls()).ok
        reply = await talk.command(f'AUTHENTICATE "PLAIN" "{plain(ALICE, PASSWORD)}"')
        assert reply.status.startswith(b"NO (TRYLATER) "), reply
    finally:
        await talk.close()


async def test_legacy_hashes_are_wrapped_at_the_first_start_and_still_log_in(
    tmp_path: Path,
) -> None:
    config_path, ports = await prepare_host_ports(tmp_path, None, ATTACK_LISTENERS)
    config = load_config(config_path)
    directory = await app.open_directory(config)
    await directory.set_password_hash(ALICE, LEGACY_HASH)  # MD5-crypt of "secret"
    await directory.close()
    async for _ in run_server(config_path):
        await logged(config_path, "wrapped 1 legacy password hashes in argon2id (md5-crypt=1)")
        directory = await app.open_directory(config)
        stored = (await directory.get_account(ALICE)).password_hash
        await directory.close()
        assert identify_scheme(stored).value == "argon2id-wrapped-md5-crypt"
        assert "gPafod/Do/8Jj5M9HehhM." not in stored  # the legacy checksum is gone
        assert "[AUTHENTICATIONFAILED]" in await asyncio.to_thread(
            imap_login, ports["imaps"], "not secret"
        )
        assert await asyncio.to_thread(imap_login, ports["imaps"], "secret") == "OK"
    async for _ in run_server(config_path):  # a second start wraps nothing
        pass
    log = (tmp_path / "serve.log").read_text()
    assert log.count("wrapping the legacy password hashes") == 1
