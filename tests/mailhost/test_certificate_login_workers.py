"""Client certificates with `[server] workers = 2`: IMAPS and POP3S are served by worker
processes, each with its own copy of the CA bundle and CRLs; a member's certificate logs
in there, and a revoked one is refused with the log line, as in one process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.support.certificate_authority import CertificateAuthority
from tests.support.certificate_logins import (
    LOGGED_IN,
    REFUSED,
    certificate_settings,
    imaps_external,
    pop3s_external,
)
from tests.support.server_process import logged, prepare_host_ports, start_server

LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("submission", "submission", 0, "starttls"),
    ListenerExample("smtps", "submission", 0, "implicit"),
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
    ListenerExample("sieve", "managesieve", 0, "starttls"),
)


async def test_workers_check_certificates_as_one_process_does(tmp_path: Path) -> None:
    ca = CertificateAuthority.create(tmp_path / "members-ca", "Community Class 1 CA")
    crl_file = ca.write_crl(tmp_path / "members.crl")
    settings = {**certificate_settings(ca, [crl_file]), "# workers = 1": "workers = 2"}
    config, ports = await prepare_host_ports(tmp_path / "host", settings, LISTENERS)
    process = await start_server(config)
    try:
        good = ca.client_certificate("alice", emails=["alice@example.test"])
        revoked = ca.client_certificate("alice", emails=["alice@example.test"])
        ca.write_crl(crl_file, [revoked.serial])
        assert await asyncio.to_thread(imaps_external, ports["imaps"], good) == LOGGED_IN["imaps"]
        assert await asyncio.to_thread(pop3s_external, ports["pop3s"], good) == LOGGED_IN["pop3s"]
        assert await asyncio.to_thread(imaps_external, ports["imaps"], revoked) == REFUSED["imaps"]
        await logged(config, f"serial={revoked.serial:x} subject=CN=alice result=fail")
        await logged(config, "reason=certificate_revoked")
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        await process.wait()
