"""Mail from the internet: aiosmtplib on the host's port 25 ("smtp"), without login
or TLS, as another mail host would send."""

from __future__ import annotations

import aiosmtplib

from tests.support.mail_host import MailHost

MESSAGE = b"From: Carol <carol@outside.example>\r\nSubject: hello\r\n\r\nHi there.\r\n"


async def send(
    host: MailHost, sender: str, recipients: list[str], message: bytes = MESSAGE
) -> dict[str, tuple[int, str]]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=host.port("smtp"), start_tls=False)
    await client.connect()
    try:
        errors, _ = await client.sendmail(sender, recipients, message)
        return errors
    finally:
        await client.quit()
