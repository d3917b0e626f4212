"""SIGHUP: new certificates and map files take effect without dropping connections;
a broken file is refused and the last good one kept."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import aiosmtplib

from mailroom.net.certificates import write_self_signed_certificate
from tests.support.mail_host import client_tls
from tests.support.server_process import logged, prepare_host, start_server
from tests.support.smtp_talk import Talk


async def certificate_seen(port: int) -> bytes:
    """The certificate a new STARTTLS connection is given."""
    talk = await Talk.open(port)
    await talk.command("EHLO client.example")
    assert (await talk.command("STARTTLS"))[0] == 220
    await talk.starttls(client_tls())
    certificate = talk.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    talk.close()
    return bytes(certificate)


async def test_sighup_reloads_certificates_and_map_files(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    (root / "aliases").write_text("team: alice\n")
    config, port = await prepare_host(
        root, {'# aliases_file = "/etc/aliases"': 'aliases_file = "aliases"'}
    )
    server = await start_server(config)
    try:
        before = await certificate_seen(port)
        open_session = await Talk.open(port)
        await open_session.command("EHLO client.example")

        write_self_signed_certificate(
            root / "tls" / "cert.pem", root / "tls" / "key.pem", "renewed.example.test"
        )
        (root / "aliases").write_text("team: alice\ncrew: bob\n")
        server.send_signal(signal.SIGHUP)

        for _ in range(100):  # the signal is handled between two loop iterations
            if await certificate_seen(port) != before:
                break
            await asyncio.sleep(0.05)
        assert await certificate_seen(port) != before
        assert (await open_session.command("NOOP"))[0] == 250  # not dropped

        await aiosmtplib.send(
            b"Subject: crew\r\n\r\nhi\r\n",
            sender="carol@outside.example",
            recipients=["crew@example.test"],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
        )

        (root / "aliases").write_text("this line is not an alias\n")
        (root / "tls" / "key.pem").write_text("not a key")
        server.send_signal(signal.SIGHUP)
        await logged(config, "TLS reload failed, keeping the previous certificates")
        await logged(config, "routing keeps the tables it had")
        after_bad = await certificate_seen(port)
        assert after_bad != before  # still the renewed one, not broken
        await aiosmtplib.send(
            b"Subject: crew\r\n\r\nagain\r\n",
            sender="carol@outside.example",
            recipients=["crew@example.test"],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 60)
