"""Client-certificate logins in tests: the `[client_certificates]` settings of a test
host, and SASL EXTERNAL with each protocol's real client (smtplib, imaplib, poplib) or
the line-level ManageSieve client, with what each answers on success and on refusal."""

from __future__ import annotations

import asyncio
import imaplib
import poplib
import smtplib
from pathlib import Path

from tests.support.certificate_authority import CertificateAuthority, ClientCertificate
from tests.support.mail_host import MailHost
from tests.support.managesieve_talk import SieveTalk, capabilities

ASKING = ["submission", "smtps", "imaps", "pop3s", "sieve"]


def certificate_settings(
    ca: CertificateAuthority, crl_files: list[Path], **extra: str
) -> dict[str, str]:
    settings = {
        '# listeners = ["submission", "imaps"]  # example; default: [] (none)': (
            "listeners = [" + ", ".join(f'"{name}"' for name in ASKING) + "]"
        ),
        '# ca_file = "tls/client-ca.pem"  # example; default: none': f'ca_file = "{ca.ca_file}"',
        '# crl_files = ["tls/class1.crl"]  # example; default: []': (
            "crl_files = [" + ", ".join(f'"{path}"' for path in crl_files) + "]"
        ),
    }
    return {**settings, **extra}


# -- the four protocols, each with a real client -------------------------------------------


def submission_external(
    port: int, certificate: ClientCertificate, authzid: str = ""
) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.starttls(context=certificate.context())
        smtp.ehlo()
        assert "EXTERNAL" in smtp.esmtp_features["auth"].split()
        try:
            return smtp.auth("EXTERNAL", lambda challenge=None: authzid, initial_response_ok=False)
        except smtplib.SMTPAuthenticationError as error:
            assert isinstance(error.smtp_error, bytes)
            return error.smtp_code, error.smtp_error


def imaps_external(port: int, certificate: ClientCertificate) -> str:
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=certificate.context()) as imap:
        assert "AUTH=EXTERNAL" in imap.capabilities
        try:
            imap.authenticate("EXTERNAL", lambda challenge: b"")
        except imaplib.IMAP4.error as error:
            return str(error)
        status, _ = imap.select("INBOX")
        return status


def pop3s_external(port: int, certificate: ClientCertificate) -> bytes:
    pop = poplib.POP3_SSL("127.0.0.1", port, context=certificate.context(), timeout=30)
    try:
        assert "EXTERNAL" in pop.capa()["SASL"]
        try:
            reply: bytes = pop._shortcmd("AUTH EXTERNAL =")  # type: ignore[attr-defined]
        except poplib.error_proto as error:
            return bytes(error.args[0])
        count, _ = pop.stat()
        assert count >= 0
        return reply
    finally:
        pop.close()


async def sieve_external(port: int, certificate: ClientCertificate) -> bytes:
    talk = await SieveTalk.open(port)
    try:
        assert (await talk.command("STARTTLS")).ok
        await talk.writer.start_tls(certificate.context())
        offered = capabilities(await talk.response())
        assert "EXTERNAL" in (offered["SASL"] or "").split()
        reply = await talk.command('AUTHENTICATE "EXTERNAL" ""')
        if reply.ok:
            assert (await talk.command("LISTSCRIPTS")).ok
        return reply.status
    finally:
        await talk.close()


async def every_protocol(host: MailHost, certificate: ClientCertificate) -> dict[str, object]:
    return {
        "submission": await asyncio.to_thread(
            submission_external, host.port("submission"), certificate
        ),
        "imaps": await asyncio.to_thread(imaps_external, host.port("imaps"), certificate),
        "pop3s": await asyncio.to_thread(pop3s_external, host.port("pop3s"), certificate),
        "sieve": await sieve_external(host.port("sieve"), certificate),
    }


LOGGED_IN = {
    "submission": (235, b"2.7.0 Authentication successful"),
    "imaps": "OK",
    "pop3s": b"+OK Logged in.",
    "sieve": b'OK "Logged in."',
}
REFUSED = {
    "submission": (535, b"5.7.8 Error: authentication failed"),
    "imaps": "[AUTHENTICATIONFAILED] Authentication failed.",
    "pop3s": b"-ERR [AUTH] Authentication failed.",
    "sieve": b'NO "Authentication failed."',
}
