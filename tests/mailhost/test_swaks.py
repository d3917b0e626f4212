"""Debian's swaks, the administrator's SMTP test tool, against the real listeners."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.support.mail_host import PASSWORD, MailHost

SWAKS = shutil.which("swaks")


async def swaks(*args: str) -> tuple[int, str]:
    if SWAKS is None:
        pytest.fail("swaks is not installed (.ci/run installs it: apt-get install swaks)")
    process = await asyncio.create_subprocess_exec(
        SWAKS,
        "--server",
        "127.0.0.1",
        "--helo",
        "client.example",
        "--timeout",
        "30",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_swaks_delivers_to_an_account(mailhost: MailHost) -> None:
    code, transcript = await swaks(
        "--port",
        str(mailhost.port("smtp")),
        "--from",
        "carol@outside.example",
        "--to",
        "bob@example.test",
    )
    assert code == 0, transcript
    assert "<-  250 2.0.0 Ok: queued as" in transcript
    (message,) = await mailhost.delivered("bob@example.test")
    assert b"X-Mailer: swaks" in message


async def test_swaks_submits_with_starttls_and_auth(mailhost: MailHost) -> None:
    code, transcript = await swaks(
        "--port",
        str(mailhost.port("submission")),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.test",
        "--auth-password",
        PASSWORD,
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
    )
    assert code == 0, transcript
    assert "<~  235 2.7.0 Authentication successful" in transcript
    assert len(await mailhost.delivered("bob@example.test")) == 1


async def test_swaks_is_refused_relaying(mailhost: MailHost) -> None:
    code, transcript = await swaks(
        "--port",
        str(mailhost.port("smtp")),
        "--from",
        "spam@outside.example",
        "--to",
        "victim@elsewhere.example",
    )
    assert code != 0
    assert "<** 554 5.7.1" in transcript
