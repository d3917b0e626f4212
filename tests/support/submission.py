"""A member submits mail: aiosmtplib on the host's submission port (STARTTLS) or smtps
(implicit TLS), logged in."""

from __future__ import annotations

import aiosmtplib

from tests.support.mail_host import PASSWORD, MailHost, client_tls

MESSAGE = b"From: Alice <alice@example.test>\r\nSubject: out\r\n\r\nGoing out.\r\n"


async def submit(
    host: MailHost,
    sender: str,
    recipients: list[str],
    *,
    login: str = "alice@example.test",
    port: str = "submission",
) -> None:
    implicit = port == "smtps"
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=host.port(port),
        use_tls=implicit,
        start_tls=not implicit,
        tls_context=client_tls(),
    )
    await client.connect()
    try:
        await client.login(login, PASSWORD)
        await client.sendmail(sender, recipients, MESSAGE)
    finally:
        await client.quit()
