"""Mail clients setting themselves up from the host: Thunderbird's autoconfig, Outlook's
Autodiscover and Apple's profile, each fetched as the client fetches it (the host name
it would use in the Host header and SNI) from the real host, each validated (the XML
against the schemas in tests/web/schemas, written from the formats' documentation; the
profile with plistlib), and each naming exactly the listeners configured."""

from __future__ import annotations

import contextlib
import plistlib
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
import xmlschema

from mailroom.app.host import ListenError
from mailroom.config.example import ListenerExample as Example
from tests.support.mail_host import MailHost, start_host
from tests.support.server_process import free_port
from tests.web.conftest import ADMIN_SETTINGS

SCHEMAS = Path(__file__).parent / "schemas"
THUNDERBIRD = xmlschema.XMLSchema(SCHEMAS / "thunderbird-config-v1.1.xsd")
AUTODISCOVER = xmlschema.XMLSchema(SCHEMAS / "autodiscover-response-2006.xsd")
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"

KINDS = (
    ("smtp", "smtp", "starttls"),
    ("submission", "submission", "starttls"),
    ("smtps", "submission", "implicit"),
    ("imap", "imap", "starttls"),
    ("imaps", "imap", "implicit"),
    ("pop3s", "pop3", "implicit"),
    ("plain", "imap", "none"),
    ("web", "web", "implicit"),
)
PORTS: dict[str, int] = {}
"""The documents name the configured ports, so each listener is on a port chosen before
the host starts: chosen afresh for each test (`host`), not once at import, where another
program had the whole module's run to take one."""
HOSTNAME = "mail.example.test"
MOBILESYNC = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """The host on free ports; chosen again (up to three times) when another program took
    one between the choice and the bind."""
    for attempt in range(3):
        PORTS.update({name: free_port() for name, _, _ in KINDS})
        listeners = tuple(Example(name, kind, PORTS[name], tls) for name, kind, tls in KINDS)
        hosts = start_host(tmp_path / f"host{attempt}", ADMIN_SETTINGS, listeners)
        try:
            running = await anext(hosts)
        except ListenError:
            if attempt == 2:
                raise
            continue
        yield running
        with contextlib.suppress(StopAsyncIteration):
            await anext(hosts)
        return


def client_for(host: MailHost, name: str) -> httpx.AsyncClient:
    """A client that reaches the web listener as `https://name/` would (the host's
    certificate is self-signed, so it is not verified)."""
    return httpx.AsyncClient(
        base_url=f"https://127.0.0.1:{host.port('web')}",
        headers={"host": name},
        verify=False,
    )


def servers_of(document: ET.Element, tag: str) -> list[tuple[str, str, int, str]]:
    return [
        (
            server.attrib["type"],
            server.findtext("hostname", ""),
            int(server.findtext("port", "0")),
            server.findtext("socketType", ""),
        )
        for server in document.iter(tag)
    ]


async def test_thunderbird_finds_the_configured_servers_on_autoconfig_domain(
    host: MailHost,
) -> None:
    async with client_for(host, "autoconfig.example.test") as client:
        answer = await client.get(
            "/mail/config-v1.1.xml",
            params={"emailaddress": "alice@example.test"},
            extensions={"sni_hostname": "autoconfig.example.test"},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    THUNDERBIRD.validate(answer.content)
    document = ET.fromstring(answer.content)
    assert document.find("emailProvider/domain").text == "example.test"  # type: ignore[union-attr]
    assert servers_of(document, "incomingServer") == [
        ("imap", HOSTNAME, PORTS["imaps"], "SSL"),
        ("imap", HOSTNAME, PORTS["imap"], "STARTTLS"),
        ("pop3", HOSTNAME, PORTS["pop3s"], "SSL"),
    ]
    assert servers_of(document, "outgoingServer") == [
        ("smtp", HOSTNAME, PORTS["smtps"], "SSL"),
        ("smtp", HOSTNAME, PORTS["submission"], "STARTTLS"),
    ]
    assert {each.text for each in document.iter("username")} == {"%EMAILADDRESS%"}


async def test_thunderbird_finds_them_under_well_known_on_the_domain(host: MailHost) -> None:
    async with client_for(host, "example.test") as client:
        answer = await client.get(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            params={"emailaddress": "bob@example.test"},
        )
    assert answer.status_code == 200
    THUNDERBIRD.validate(answer.content)
    assert "set-cookie" not in answer.headers  # no session made for an anonymous fetch


async def test_autoconfig_for_a_domain_not_served_here_is_not_found(host: MailHost) -> None:
    async with client_for(host, "autoconfig.elsewhere.example") as client:
        answer = await client.get("/mail/config-v1.1.xml")
        asked = await client.get(
            "/mail/config-v1.1.xml", params={"emailaddress": "eve@elsewhere.example"}
        )
        bad = await client.get("/mail/config-v1.1.xml", params={"emailaddress": "<x>"})
    assert answer.status_code == 404
    assert asked.status_code == 404
    assert bad.status_code == 400


def autodiscover_request(address: str, schema: str = OUTLOOK[1:-1]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
        'outlook/requestschema/2006"><Request>'
        f"<EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


async def test_outlook_gets_the_settings_by_autodiscover(host: MailHost) -> None:
    async with client_for(host, "autodiscover.example.test") as client:
        await client.get("/login")  # a browser's session cookie does not matter
        answer = await client.post(
            "/Autodiscover/Autodiscover.xml",  # as Outlook writes it
            content=autodiscover_request("alice@example.test"),
            headers={"content-type": "text/xml"},
        )
    assert answer.status_code == 200
    AUTODISCOVER.validate(answer.content)
    account = ET.fromstring(answer.content).find(f"{OUTLOOK}Response/{OUTLOOK}Account")
    assert account is not None
    protocols = [
        (
            each.findtext(f"{OUTLOOK}Type"),
            each.findtext(f"{OUTLOOK}Server"),
            int(each.findtext(f"{OUTLOOK}Port", "0")),
            each.findtext(f"{OUTLOOK}Encryption"),
            each.findtext(f"{OUTLOOK}LoginName"),
        )
        for each in account.iter(f"{OUTLOOK}Protocol")
    ]
    alice = "alice@example.test"
    assert protocols == [
        ("IMAP", HOSTNAME, PORTS["imaps"], "SSL", alice),
        ("IMAP", HOSTNAME, PORTS["imap"], "TLS", alice),
        ("POP3", HOSTNAME, PORTS["pop3s"], "SSL", alice),
        ("SMTP", HOSTNAME, PORTS["smtps"], "SSL", alice),
        ("SMTP", HOSTNAME, PORTS["submission"], "TLS", alice),
    ]


async def test_autodiscover_answers_errors_in_its_own_format(host: MailHost) -> None:
    async with client_for(host, "autodiscover.example.test") as client:
        unknown = await client.post(
            "/autodiscover/autodiscover.xml",
            content=autodiscover_request("eve@elsewhere.example"),
        )
        mobile = await client.post(
            "/autodiscover/autodiscover.xml",
            content=autodiscover_request("alice@example.test", MOBILESYNC),
        )
        garbage = await client.post("/autodiscover/autodiscover.xml", content=b"<nope")
    for answer, code in ((unknown, "500"), (mobile, "601"), (garbage, "600")):
        assert answer.status_code == 200
        AUTODISCOVER.validate(answer.content)
        assert f"<ErrorCode>{code}</ErrorCode>" in answer.text


async def test_autodiscover_refuses_an_external_entity(host: MailHost) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"
    )
    async with client_for(host, "example.test") as client:
        answer = await client.post("/autodiscover/autodiscover.xml", content=hostile)
        huge = await client.post("/autodiscover/autodiscover.xml", content=b" " * 100_000)
    assert "<ErrorCode>600</ErrorCode>" in answer.text
    assert "root:" not in answer.text
    assert huge.status_code == 413


async def test_apple_mail_gets_a_profile_naming_the_best_servers(host: MailHost) -> None:
    async with client_for(host, "example.test") as client:
        answer = await client.get(
            "/mail.mobileconfig", params={"emailaddress": "Alice@Example.test"}
        )
        again = await client.get(
            "/mail.mobileconfig", params={"emailaddress": "alice@example.test"}
        )
        elsewhere = await client.get(
            "/mail.mobileconfig", params={"emailaddress": "eve@elsewhere.example"}
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(answer.content, fmt=plistlib.FMT_XML)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    [mail] = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == "alice@example.test"
    assert (
        mail["IncomingMailServerHostName"],
        mail["IncomingMailServerPortNumber"],
        mail["IncomingMailServerUseSSL"],
    ) == (HOSTNAME, PORTS["imaps"], True)
    assert (
        mail["OutgoingMailServerHostName"],
        mail["OutgoingMailServerPortNumber"],
        mail["OutgoingMailServerUseSSL"],
    ) == (HOSTNAME, PORTS["smtps"], True)
    assert mail["IncomingMailServerAuthentication"] == "EmailAuthPassword"
    # The same address gets the same identifiers: installing it again replaces it.
    assert plistlib.loads(again.content)["PayloadUUID"] == profile["PayloadUUID"]
    assert elsewhere.status_code == 404
