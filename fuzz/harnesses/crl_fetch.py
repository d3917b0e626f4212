"""CRL fetching and reading (`mailroom.net.crl_fetch`, `mailroom.net.crl_store`): the
distribution-point URL a certificate names, the HTTP answer of the CA's server (or of
whoever sits on the path: it is plain HTTP), and the CRL in it or in a configured file.

The input is the server's whole answer; as text, its first line is also a URL. Contract:
`parse_crl_url` gives a `CrlUrl` (a port 1..65535, a path starting with `/`) whose text
reads back as the same URL, or raises `CrlFetchError`; `parse_response` gives a body of
at most `max_body` octets, and no more than Content-Length says, or raises
`CrlFetchError`; `parse_crls` of that body (and of the input itself) gives CRLs or
raises `ValueError` (cryptography's error for what is no CRL), and each CRL's issuer
can be read and `is_current` answers for it. A crash: any other exception or broken invariant.
"""

from __future__ import annotations

import contextlib
import datetime

from mailroom.net.crl_fetch import CrlFetchError, parse_crl_url, parse_response
from mailroom.net.crl_store import is_current, parse_crls

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
MAX_BODY = 4096


def one_input(data: bytes) -> None:
    url_text = data.partition(b"\n")[0].decode("utf-8", "replace").rstrip("\r")
    try:
        url = parse_crl_url(url_text)
    except CrlFetchError as error:
        assert str(error), url_text
    else:
        assert 0 < url.port < 65536 and url.path.startswith("/"), url
        assert parse_crl_url(str(url)) == url, (url_text, url)
    for body in (data, _body(data)):
        if body is None:
            continue
        with contextlib.suppress(ValueError):
            for crl in parse_crls(body):
                crl.issuer.rfc4514_string()  # what the readers log and compare
                is_current(crl, NOW)


def _body(data: bytes) -> bytes | None:
    try:
        body = parse_response(data, MAX_BODY)
    except CrlFetchError as error:
        assert str(error), data[:100]
        return None
    assert len(body) <= MAX_BODY, len(body)
    return body
