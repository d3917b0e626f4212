"""Real ManageSieve clients against the host: Debian's `sieve-connect` (what members run
by hand) and sievelib's `Client` (what Python webmails use), each uploading, listing,
activating, fetching and deleting scripts over STARTTLS."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sievelib.managesieve import Client

from tests.support.mail_host import PASSWORD, MailHost
from tests.support.managesieve_talk import ALICE, sieve_connect

FILTERS = (
    'require ["fileinto", "imap4flags"];\r\n'
    'if header :contains "List-Id" "members.example.org" {\r\n'
    '    fileinto "Lists";\r\n'
    "    stop;\r\n"
    "}\r\n"
    'if address :is "from" "boss@example.org" {\r\n'
    '    addflag "\\\\Flagged";\r\n'
    "}\r\n"
)


async def test_sieve_connect_uploads_lists_activates_downloads_and_deletes(
    sieve_host: MailHost, tmp_path: Path
) -> None:
    local = tmp_path / "filters.sieve"
    local.write_text(FILTERS)
    upload = await sieve_connect(
        sieve_host, "--upload", "--localsieve", str(local), "--remotesieve", "main"
    )
    assert upload.returncode == 0, upload.output
    activate = await sieve_connect(sieve_host, "--activate", "--remotesieve", "main")
    assert activate.returncode == 0, activate.output
    listing = await sieve_connect(sieve_host, "--list")
    assert listing.returncode == 0, listing.output
    assert "main" in listing.output and "ACTIVE" in listing.output.upper()
    assert os.readlink(sieve_host.maildir(ALICE).parent / ".dovecot.sieve") == "sieve/main.sieve"

    copy = tmp_path / "copy.sieve"
    download = await sieve_connect(
        sieve_host, "--download", "--remotesieve", "main", "--localsieve", str(copy)
    )
    assert download.returncode == 0, download.output
    assert copy.read_bytes() == local.read_bytes()

    refused = await sieve_connect(sieve_host, "--delete", "--remotesieve", "main")
    assert refused.returncode != 0  # the active script
    assert "active" in refused.output.lower()
    assert (await sieve_connect(sieve_host, "--deactivate")).returncode == 0
    assert (await sieve_connect(sieve_host, "--delete", "--remotesieve", "main")).returncode == 0


async def test_sieve_connect_checkscript_reports_the_line(
    sieve_host: MailHost, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.sieve"
    broken.write_text('require "fileinto";\nif true {\n  fileinto "X"\n}\n')
    result = await sieve_connect(sieve_host, "--checkscript", "--localsieve", str(broken))
    assert result.returncode != 0
    assert "line" in result.output


def sievelib_session(port: int, scripts: Path) -> dict[str, object]:
    client = Client("127.0.0.1", port)
    seen: dict[str, object] = {}
    seen["connect"] = client.connect(ALICE, PASSWORD, starttls=True, authmech="PLAIN")
    seen["implementation"] = client.get_implementation()
    seen["havespace"] = client.havespace("main", len(FILTERS))
    seen["put"] = client.putscript("main", FILTERS)
    seen["put other"] = client.putscript("other", "keep;\r\n")
    seen["setactive"] = client.setactive("main")
    seen["list"] = client.listscripts()
    seen["get"] = client.getscript("main")
    seen["stored"] = (scripts / "main.sieve").read_bytes()
    seen["rename"] = client.renamescript("other", "renamed")
    seen["delete active"] = client.deletescript("main")
    seen["delete"] = client.deletescript("renamed")
    seen["check bad"] = client.checkscript('if true { fileinto "X" }')
    seen["list after"] = client.listscripts()
    client.logout()
    return seen


async def test_sievelibs_client_does_the_whole_command_set(
    sieve_host: MailHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sievelib verifies the certificate against the default CAs: the host's is one.
    monkeypatch.setenv("SSL_CERT_FILE", str(sieve_host.root / "tls" / "cert.pem"))
    scripts = sieve_host.maildir(ALICE).parent / "sieve"
    seen = await asyncio.to_thread(sievelib_session, sieve_host.port("sieve"), scripts)
    assert seen["connect"] is True
    assert seen["implementation"] == "Mailroom"
    assert seen["havespace"] is True
    assert seen["put"] is True and seen["put other"] is True
    assert seen["setactive"] is True
    assert seen["list"] == ("main", ["other"])
    assert seen["get"] == "\n".join(FILTERS.splitlines())  # sievelib joins lines with LF
    assert seen["stored"] == FILTERS.encode()
    assert seen["rename"] is True
    assert seen["delete active"] is False
    assert seen["delete"] is True
    assert seen["check bad"] is False
    assert seen["list after"] == ("main", [])
