"""The three documents for any set of listeners and any domain the directory accepts:
always valid (the schemas of tests/web/schemas, plistlib), naming exactly the TLS
listeners for clients; and the domain a request asks about, from hostile Host headers
and parameters, is a normalised domain or nothing."""

from __future__ import annotations

import plistlib
from pathlib import Path
from xml.etree import ElementTree as ET

import xmlschema
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from mailroom.config import Listener, TlsMode
from mailroom.config.model import Protocol
from mailroom.directory import normalize_domain
from mailroom.web.autoconfig import _address, _requested_domain
from mailroom.web.autoconfig_apple import NoServers, mobileconfig
from mailroom.web.autoconfig_autodiscover import settings_response
from mailroom.web.autoconfig_servers import Kind, client_servers
from mailroom.web.autoconfig_thunderbird import thunderbird_config

SCHEMAS = Path(__file__).parent / "schemas"
THUNDERBIRD = xmlschema.XMLSchema(SCHEMAS / "thunderbird-config-v1.1.xsd")
AUTODISCOVER = xmlschema.XMLSchema(SCHEMAS / "autodiscover-response-2006.xsd")

listeners = st.lists(
    st.builds(
        lambda number, protocol, tls, port: Listener(
            name=f"l{number}", protocol=protocol, address=f"127.0.0.1:{port}", tls=tls
        ),
        st.integers(0, 10**6),
        st.sampled_from(list(Protocol)),
        st.sampled_from(list(TlsMode)),
        st.integers(1, 65535),
    ),
    max_size=10,
)
domains = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\.[a-z]{2,6}", fullmatch=True)


@given(listeners, domains)
def test_documents_are_valid_and_name_exactly_the_client_listeners(
    configured: list[Listener], domain: str
) -> None:
    servers = client_servers("mail.example.test", configured)
    expected = {
        (listener.protocol.value, listener.port)
        for listener in configured
        if listener.protocol in (Protocol.IMAP, Protocol.POP3, Protocol.SUBMISSION)
        and listener.tls is not TlsMode.NONE
    }
    assert {(server.kind.value, server.port) for server in servers} == expected
    if servers:
        AUTODISCOVER.validate(settings_response(f"a@{domain}", servers))
    kinds = {server.kind for server in servers}
    if kinds & {Kind.IMAP, Kind.POP3} and Kind.SUBMISSION in kinds:
        document = thunderbird_config(domain, servers)
        THUNDERBIRD.validate(document)
        named = {int(port.text or 0) for port in ET.fromstring(document).iter("port")}
        assert named == {port for _, port in expected}
        profile = plistlib.loads(mobileconfig("mail.example.test", f"a@{domain}", servers))
        assert profile["PayloadContent"][0]["IncomingMailServerPortNumber"] in named
    else:
        try:
            mobileconfig("mail.example.test", f"a@{domain}", servers)
        except NoServers:
            return
        raise AssertionError("a profile without a server to read or to send mail")


def request(host: bytes, query: bytes) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/mail/config-v1.1.xml",
            "query_string": query,
            "headers": [(b"host", host)],
        }
    )


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_the_domain_asked_about_is_a_normalised_domain_or_nothing(
    host: bytes, query: bytes
) -> None:
    asked = request(host, b"emailaddress=" + query)
    address = _address(asked)
    domain = _requested_domain(asked, address)
    if domain is not None:
        assert normalize_domain(domain) == domain
    if address is not None:
        assert domain == address.rpartition("@")[2]


def test_the_autoconfig_host_name_gives_the_domain() -> None:
    assert _requested_domain(request(b"Autoconfig.Example.ORG:443", b""), None) == "example.org"
    assert _requested_domain(request(b"[::1]:8080", b""), None) is None
