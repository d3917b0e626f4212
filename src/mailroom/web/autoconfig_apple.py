"""An Apple configuration profile (`.mobileconfig`) with one mail account, for iOS,
iPadOS and macOS Mail, with the keys of Apple's "Mail" payload
(`com.apple.mail.managed`, Device Management documentation).

Apple's profile holds one incoming and one outgoing server, so it names the best of
each: IMAP before POP3, implicit TLS before STARTTLS. `UseSSL` false on a STARTTLS
listener: Apple Mail then upgrades with STARTTLS, which our listeners require before a
password. The identifiers are derived from the host and the address, so installing the
profile again replaces it rather than adding a second account. The profile is not signed
(the device shows it as unverified)."""

from __future__ import annotations

import plistlib
import uuid

from mailroom.web.autoconfig_servers import Kind, MailServer, first

MEDIA_TYPE = "application/x-apple-aspen-config"


class NoServers(Exception):
    """The host has no TLS listener for IMAP/POP3 or none for submission."""


def _reversed(hostname: str) -> str:
    return ".".join(reversed(hostname.lower().split(".")))


def mobileconfig(hostname: str, address: str, servers: list[MailServer]) -> bytes:
    """The profile for `address`, as an XML property list."""
    incoming = first(servers, Kind.IMAP, Kind.POP3)
    outgoing = first(servers, Kind.SUBMISSION)
    if incoming is None or outgoing is None:
        raise NoServers(f"{hostname} has no TLS listener for reading or for sending mail")
    prefix = f"{_reversed(hostname)}.mailroom"
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, hostname.lower())
    account = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{prefix}.mail.{uuid.uuid5(namespace, 'mail:' + address)}",
        "PayloadUUID": str(uuid.uuid5(namespace, "mail:" + address)).upper(),
        "PayloadDisplayName": address,
        "EmailAccountDescription": address,
        "EmailAccountType": "EmailTypeIMAP" if incoming.kind is Kind.IMAP else "EmailTypePOP",
        "EmailAddress": address,
        "IncomingMailServerHostName": incoming.hostname,
        "IncomingMailServerPortNumber": incoming.port,
        "IncomingMailServerUseSSL": incoming.implicit_tls,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerUsername": address,
        "OutgoingMailServerHostName": outgoing.hostname,
        "OutgoingMailServerPortNumber": outgoing.port,
        "OutgoingMailServerUseSSL": outgoing.implicit_tls,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerUsername": address,
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{prefix}.profile.{uuid.uuid5(namespace, 'profile:' + address)}",
        "PayloadUUID": str(uuid.uuid5(namespace, "profile:" + address)).upper(),
        "PayloadDisplayName": f"Mail: {address}",
        "PayloadDescription": f"The mail account {address} on {hostname}",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
