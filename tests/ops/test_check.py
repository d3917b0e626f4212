"""`mailroom check`, the Nagios/NRPE plugin, run as NRPE runs it (a separate process)
against a running host: OK, then WARNING and CRITICAL as the queue fills, a listener
stops, a certificate nears its end or is past it, the directory is gone."""

from __future__ import annotations

import asyncio
import datetime
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.app.health import HealthCheck
from mailroom.config.example import DEMO_LISTENERS
from mailroom.config.example import ListenerExample as Example
from tests.support.certificate_authority import CertificateAuthority
from tests.support.mail_host import MailHost, start_host
from tests.support.submission import submit

PERFDATA = re.compile(r"[A-Za-z0-9_.-]+=-?[0-9.]+(s|%|B)?(;[0-9.:~@-]*){0,4}")
"""One perfdata item of the plugin guidelines: label=value[UOM];[warn];[crit];[min];[max]."""


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    async for running in start_host(tmp_path):
        pin_ports(running)
        yield running


def pin_ports(host: MailHost) -> None:
    """Write the ports the host's listeners got into its config file, as a production
    config names them, so the plugin (another process) knows where to connect."""
    path = host.root / "mailroom.toml"
    text = path.read_text()
    for listener in host.config.listeners:
        address = f'address = "127.0.0.1:{host.port(listener.name)}"'
        text = text.replace('address = "127.0.0.1:0"', address, 1)
    path.write_text(text)


async def mailroom_check(config: Path, *options: str) -> tuple[int, list[str]]:
    """The plugin's exit code and its output lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mailroom",
        "check",
        "-c",
        str(config),
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    assert err == b"", err
    return process.returncode, out.decode().splitlines()


def config_of(host: MailHost) -> Path:
    return host.root / "mailroom.toml"


def perfdata(line: str) -> dict[str, str]:
    """The perfdata after `|`, by label; every item well formed."""
    _, _, data = line.partition(" | ")
    items = data.split(" ")
    assert all(PERFDATA.fullmatch(item) for item in items), items
    return {item.split("=", 1)[0]: item.split("=", 1)[1] for item in items}


async def test_a_healthy_host_is_ok_in_one_line_with_perfdata(host: MailHost) -> None:
    code, lines = await mailroom_check(config_of(host))
    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith("MAILROOM OK - 3 listeners up; queue 0 messages; certificate ")
    figures = perfdata(lines[0])
    assert figures["listeners_down"] == "0;;0;0;3"
    assert figures["queue_size"] == "0;100;500;0"
    assert figures["certificate_days"].endswith(";21:;7:")
    assert set(figures) >= {"listener_smtp", "data_dir_free", "directory_time"}


async def test_every_protocol_is_greeted_plain_and_over_tls(tmp_path: Path) -> None:
    every = tuple(Example(e.name, e.protocol, 0, e.tls) for e in DEMO_LISTENERS)
    async for running in start_host(tmp_path, listeners=every):
        pin_ports(running)
        code, lines = await mailroom_check(config_of(running))
        assert (code, lines[0][:40]) == (0, "MAILROOM OK - 9 listeners up; queue 0 me")
        names = {item.split("=")[0] for item in lines[0].partition(" | ")[2].split()}
        assert {f"listener_{e.name}" for e in every} <= names


async def test_verbose_adds_a_line_per_check(host: MailHost) -> None:
    code, lines = await mailroom_check(config_of(host), "--verbose")
    assert code == 0
    assert [line.split(":")[0] for line in lines[1:]] == [
        "listeners",
        "queue",
        "certificates",
        "disk",
        "directory",
    ]
    assert lines[1] == "listeners: OK - 3 listeners up"


async def test_a_filling_queue_warns_then_is_critical(host: MailHost) -> None:
    # lists.example.test's transport is [127.0.0.1]:1, which refuses: the mail waits.
    for n in range(3):
        await submit(host, "alice@example.test", [f"list{n}@lists.example.test"])
    code, lines = await mailroom_check(config_of(host), "--queue-warning", "2")
    assert code == 1
    assert lines[0].startswith("MAILROOM WARNING - queue 3 messages, oldest ")
    assert perfdata(lines[0])["queue_size"] == "3;2;500;0"
    code, lines = await mailroom_check(
        config_of(host), "--queue-warning", "1", "--queue-critical", "2"
    )
    assert code == 2
    assert lines[0].startswith("MAILROOM CRITICAL - queue 3 messages")


async def test_a_message_waiting_too_long_warns(host: MailHost) -> None:
    await submit(host, "alice@example.test", ["list@lists.example.test"])
    code, lines = await mailroom_check(config_of(host), "--age-warning", "0")
    assert code == 1
    assert lines[0].startswith("MAILROOM WARNING - queue 1 messages, oldest ")
    assert perfdata(lines[0])["queue_oldest"].endswith("s;0;86400;0")


async def test_a_stopped_listener_is_critical(host: MailHost) -> None:
    submission = next(s for s in host.running.servers if s.listener.name == "submission")
    port = submission.port
    await submission.stop()
    code, lines = await mailroom_check(config_of(host))
    assert code == 2
    assert lines[0].startswith(
        f"MAILROOM CRITICAL - 1 of 3 listeners down: submission (127.0.0.1:{port}: "
        "connection refused); queue 0 messages"
    )
    assert perfdata(lines[0])["listeners_down"] == "1;;0;0;3"


async def test_a_listener_that_accepts_but_never_greets_is_critical(host: MailHost) -> None:
    # A stuck server: the kernel still completes connections into the listen backlog.
    with socket.socket() as stuck:
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(8)
        port = stuck.getsockname()[1]
        config = host.root / "stuck.toml"
        config.write_text(
            config_of(host).read_text()
            + f'\n[[listeners]]\nname = "stuck"\nprotocol = "imap"\naddress = "127.0.0.1:{port}"\n'
        )
        code, lines = await mailroom_check(config, "--timeout", "1")
    assert code == 2
    assert lines[0].startswith(
        f"MAILROOM CRITICAL - 1 of 4 listeners down: stuck (127.0.0.1:{port}: no answer in 1 s);"
    )


def replace_certificate(host: MailHost, not_after: datetime.datetime) -> None:
    """The host's certificate file replaced by one valid until `not_after` (what the
    plugin reads; the running host keeps the certificate it loaded)."""
    ca = CertificateAuthority.create(host.root / "ca")
    ca.server_context("mail.example.test", not_after=not_after)
    (made,) = ca.directory.glob("mail.*.crt")
    (host.root / "tls" / "cert.pem").write_bytes(made.read_bytes())


async def test_a_certificate_near_its_end_warns(host: MailHost) -> None:
    replace_certificate(host, datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10))
    code, lines = await mailroom_check(config_of(host))
    assert code == 1
    assert re.match(
        r"MAILROOM WARNING - certificate \S+/tls/cert.pem expires in 10.0 days;", lines[0]
    )
    assert perfdata(lines[0])["certificate_days"].startswith("10;")


async def test_an_expired_certificate_is_critical(host: MailHost) -> None:
    replace_certificate(host, datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2))
    code, lines = await mailroom_check(config_of(host))
    assert code == 2
    assert re.match(
        r"MAILROOM CRITICAL - certificate \S+/tls/cert.pem expired 2.0 days ago;", lines[0]
    )
    assert perfdata(lines[0])["certificate_days"].startswith("-2;")


async def test_an_unreachable_directory_is_critical(host: MailHost) -> None:
    broken = host.root / "broken.toml"
    broken.write_text(
        config_of(host)
        .read_text()
        .replace('url = "sqlite:///directory.sqlite3"', 'url = "sqlite:///gone/directory.sqlite3"')
    )
    code, lines = await mailroom_check(broken)
    assert code == 2
    assert "directory: cannot use the directory database" in lines[0]
    assert lines[0].startswith("MAILROOM CRITICAL - ")


async def test_too_little_free_disk_warns(host: MailHost) -> None:
    code, lines = await mailroom_check(config_of(host), "--disk-warning", "100")
    assert code == 1
    assert re.match(r"MAILROOM WARNING - data_dir [0-9.]+% free ", lines[0])


async def test_wrong_thresholds_and_a_missing_config_are_unknown(host: MailHost) -> None:
    code, lines = await mailroom_check(
        config_of(host), "--queue-warning", "10", "--queue-critical", "5"
    )
    assert (code, lines) == (
        3,
        ["MAILROOM UNKNOWN - --queue-warning must not be above --queue-critical"],
    )
    code, lines = await mailroom_check(host.root / "missing.toml")
    assert code == 3
    assert lines[0].startswith("MAILROOM UNKNOWN - ")


async def test_an_option_that_is_no_number_is_unknown(host: MailHost) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mailroom",
        "check",
        "-c",
        str(config_of(host)),
        "--queue-warning",
        "many",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await process.communicate()
    assert process.returncode == 3


async def test_the_running_host_can_ask_the_same_checks_for_healthz(host: MailHost) -> None:
    check = HealthCheck(host.config, directory=host.directory)
    report = await check()
    assert report.ok
    assert report.problems() == []
    # The host's own config asked for any free port (port 0): nothing to connect to.
    assert report.status_line().startswith(
        "MAILROOM OK - no listener checked (3 on port 0, any free port); queue 0 messages;"
    )
    replace_certificate(host, datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
    report = await check()
    assert [p.split(" expired ")[1] for p in report.problems()] == ["24.0 h ago"]
    assert report.as_dict()["status"] == "critical"
