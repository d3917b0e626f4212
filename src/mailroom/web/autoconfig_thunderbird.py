"""Thunderbird's autoconfig document (`config-v1.1.xml`), as the format's definition
describes it: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
(also read by Evolution, KMail and K-9/Thunderbird for Android).

The username is the placeholder `%EMAILADDRESS%`, which the client fills in: the
document is public, so it names no account of ours."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from mailroom.web.autoconfig_servers import Kind, MailServer

USERNAME = "%EMAILADDRESS%"
MEDIA_TYPE = "application/xml; charset=utf-8"


def _server(parent: ET.Element, tag: str, kind: str, server: MailServer) -> None:
    element = ET.SubElement(parent, tag, type=kind)
    ET.SubElement(element, "hostname").text = server.hostname
    ET.SubElement(element, "port").text = str(server.port)
    ET.SubElement(element, "socketType").text = "SSL" if server.implicit_tls else "STARTTLS"
    ET.SubElement(element, "username").text = USERNAME
    # The password is sent as typed, inside TLS (AUTH PLAIN / LOGIN): every listener
    # offered here has TLS, and the directory keeps only hashes (no CRAM-MD5).
    ET.SubElement(element, "authentication").text = "password-cleartext"


def thunderbird_config(domain: str, servers: list[MailServer]) -> bytes:
    """The document for `domain` (a domain of this host), naming `servers`."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    ET.SubElement(provider, "domain").text = domain
    ET.SubElement(provider, "displayName").text = f"{domain} mail"
    ET.SubElement(provider, "displayShortName").text = domain
    for server in servers:
        if server.kind is Kind.IMAP:
            _server(provider, "incomingServer", "imap", server)
        elif server.kind is Kind.POP3:
            _server(provider, "incomingServer", "pop3", server)
    for server in servers:
        if server.kind is Kind.SUBMISSION:
            _server(provider, "outgoingServer", "smtp", server)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
