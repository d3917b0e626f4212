"""Microsoft's Autodiscover in its "plain old XML" form (POX), which Outlook posts to
`https://DOMAIN/autodiscover/autodiscover.xml` (or `autodiscover.DOMAIN`) to learn the
IMAP, POP3 and SMTP settings of an address. Elements as Microsoft documents them:
https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-web-service-reference-for-exchange

The request is parsed here, before anything else looks at it, with the limits of a
hostile client in mind: at most `MAX_REQUEST_BYTES`, `MAX_DEPTH` levels and
`MAX_ELEMENTS` elements, and no DOCTYPE at all, so no entity can be declared (no
"billion laughs", no external entity: XXE) and an undeclared one is a syntax error.
expat (the standard library's) does the tokenising; defusedxml is not among our
dependencies and is not needed when a DOCTYPE is refused outright. Pure: bytes in, a
request or `BadRequest` out."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET
from xml.parsers import expat

from mailroom.web.autoconfig_servers import Kind, MailServer

MAX_REQUEST_BYTES = 8 * 1024
"""A real request is about 400 bytes."""
MAX_DEPTH = 6
MAX_ELEMENTS = 32
MAX_TEXT = 512

REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MEDIA_TYPE = "text/xml; charset=utf-8"


class BadRequest(Exception):
    """Not an Autodiscover request we read; the message says why (for the log)."""


@dataclass(frozen=True)
class AutodiscoverRequest:
    email_address: str
    response_schema: str


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def parse_request(body: bytes) -> AutodiscoverRequest:
    """The e-mail address and the response schema asked for in `body`."""
    if len(body) > MAX_REQUEST_BYTES:
        raise BadRequest(f"request larger than {MAX_REQUEST_BYTES} bytes")
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    path: list[str] = []
    texts: dict[str, list[str]] = {"EMailAddress": [], "AcceptableResponseSchema": []}
    count = 0

    def refuse(*_: object) -> None:
        raise BadRequest("a DOCTYPE or entity declaration is not accepted")

    def refuse_external(*_: object) -> int:
        raise BadRequest("an external entity is not accepted")

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(path) >= MAX_DEPTH:
            raise BadRequest("too many or too deeply nested elements")
        local = _local(name)
        if not path and local != "Autodiscover":
            raise BadRequest(f"the document element is {local[:64]!r}, not Autodiscover")
        path.append(local)

    def end(_name: str) -> None:
        path.pop()

    def text(data: str) -> None:
        if len(path) == 3 and path[1] == "Request" and path[2] in texts:
            collected = texts[path[2]]
            collected.append(data)
            if sum(len(piece) for piece in collected) > MAX_TEXT:
                raise BadRequest(f"{path[2]} longer than {MAX_TEXT} characters")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise BadRequest(f"not well-formed XML: {error}") from None
    except RecursionError:  # pragma: no cover - depth is bounded above
        raise BadRequest("too deeply nested") from None
    address = "".join(texts["EMailAddress"]).strip()
    schema = "".join(texts["AcceptableResponseSchema"]).strip()
    if not address:
        raise BadRequest("no Request/EMailAddress")
    return AutodiscoverRequest(address, schema)


def _document(inner: ET.Element) -> bytes:
    # Namespaces written as plain xmlns attributes: the default-namespace form every
    # Exchange server answers with (ElementTree would invent ns0: prefixes).
    root = ET.Element("Autodiscover", xmlns=RESPONSE_NS)
    root.append(inner)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _protocol(account: ET.Element, kind: str, server: MailServer, login: str) -> None:
    protocol = ET.SubElement(account, "Protocol")
    ET.SubElement(protocol, "Type").text = kind
    ET.SubElement(protocol, "Server").text = server.hostname
    ET.SubElement(protocol, "Port").text = str(server.port)
    ET.SubElement(protocol, "LoginName").text = login
    ET.SubElement(protocol, "DomainRequired").text = "off"
    ET.SubElement(protocol, "SPA").text = "off"
    ET.SubElement(protocol, "SSL").text = "on"
    # Encryption (when present it overrides SSL): "SSL" is TLS from the first byte,
    # "TLS" is STARTTLS.
    ET.SubElement(protocol, "Encryption").text = "SSL" if server.implicit_tls else "TLS"
    ET.SubElement(protocol, "AuthRequired").text = "on"


def settings_response(address: str, servers: list[MailServer]) -> bytes:
    """The settings of `address`: one Protocol per server, the best of each kind first
    (Outlook takes the first it can use)."""
    response = ET.Element("Response", xmlns=OUTLOOK_NS)
    account = ET.SubElement(response, "Account")
    ET.SubElement(account, "AccountType").text = "email"
    ET.SubElement(account, "Action").text = "settings"
    types = {Kind.IMAP: "IMAP", Kind.POP3: "POP3", Kind.SUBMISSION: "SMTP"}
    for server in servers:
        _protocol(account, types[server.kind], server, address)
    return _document(response)


def error_response(code: int, message: str) -> bytes:
    """An Autodiscover error (600: invalid request, 601: the response schema asked for
    is not provided, 500: the address is not ours)."""
    response = ET.Element("Response")
    error = ET.SubElement(response, "Error", Time="00:00:00", Id="0")
    ET.SubElement(error, "ErrorCode").text = str(code)
    ET.SubElement(error, "Message").text = message
    ET.SubElement(error, "DebugData")
    return _document(response)
