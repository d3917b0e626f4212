"""The Autodiscover request parser against hostile input: whatever the bytes, it returns
a request or says BadRequest, never expands an entity, reads a file or recurses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.autoconfig_autodiscover import (
    MAX_REQUEST_BYTES,
    AutodiscoverRequest,
    BadRequest,
    parse_request,
)

REQUEST = (
    b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    b'requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress>'
    b"<AcceptableResponseSchema>s</AcceptableResponseSchema></Request></Autodiscover>"
)

PIECES = [
    b"<Autodiscover>",
    b"</Autodiscover>",
    b"<Request>",
    b"</Request>",
    b"<EMailAddress>",
    b"</EMailAddress>",
    b"<AcceptableResponseSchema>",
    b"</AcceptableResponseSchema>",
    b"<!DOCTYPE a [",
    b"]>",
    b'<!ENTITY x "xxxxxxxxxx">',
    b'<!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;&x;&x;">',
    b'<!ENTITY e SYSTEM "file:///etc/passwd">',
    b'<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd">',
    b"%p;",
    b"&x;",
    b"&y;",
    b"&e;",
    b"&amp;",
    b"<![CDATA[",
    b"]]>",
    b'<?xml version="1.0"?>',
    b'<?xml version="1.0" encoding="utf-16"?>',
    b"<?pi data?>",
    b"<!-- c -->",
    b"alice@example.test",
    b"\x00",
    b"\xff\xfe",
    b"<a>",
    b"</a>",
]


@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_xml_like_input_is_a_request_or_bad_request(pieces: list[bytes]) -> None:
    body = b"".join(pieces)
    try:
        request = parse_request(body)
    except BadRequest:
        return
    assert isinstance(request, AutodiscoverRequest)
    assert "root:" not in request.email_address
    assert "xxxxxxxxxx" not in request.email_address  # no entity was expanded


@given(st.binary(max_size=2048))
def test_any_bytes_are_a_request_or_bad_request(body: bytes) -> None:
    try:
        request = parse_request(REQUEST[:40] + body)
    except BadRequest:
        return
    assert isinstance(request, AutodiscoverRequest)


def test_a_well_formed_request_is_read() -> None:
    assert parse_request(REQUEST) == AutodiscoverRequest("alice@example.test", "s")


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE a [<!ENTITY x "x"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]>'
        b"<Autodiscover><Request><EMailAddress>&y;</EMailAddress></Request></Autodiscover>",
        b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><Autodiscover/>',
        b"<Autodiscover>" + b"<a>" * 100 + b"</a>" * 100 + b"</Autodiscover>",
        b"<Autodiscover>" + b"<a/>" * 100 + b"</Autodiscover>",
        b"<Autodiscover><Request><EMailAddress>" + b"a" * 600 + b"</EMailAddress>"
        b"</Request></Autodiscover>",
        b" " * (MAX_REQUEST_BYTES + 1),
        b"<Other/>",
        b"<Autodiscover/>",
    ],
    ids=["entities", "external-dtd", "deep", "wide", "long-text", "large", "other", "empty"],
)
def test_hostile_requests_are_refused(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_request(body)
