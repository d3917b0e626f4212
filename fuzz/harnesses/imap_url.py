"""IMAP URLs of CATENATE's URL parts (`mailroom.imap.urls.parse_url`, RFC 5092).

The input is the URL as a client writes it (decoded as UTF-8, invalid octets replaced:
the session hands the parser a `str`). Contract: a `MessageUrl` whose numbers are within
RFC 5092's 32-bit bounds, or `UrlError`. A crash: any other exception (a GrammarError or
ValueError escaping from the section or number grammar) or an out-of-range number.
"""

from __future__ import annotations

from mailroom.imap.urls import MAX_NUMBER, UrlError, parse_url


def one_input(data: bytes) -> None:
    try:
        url = parse_url(data.decode("utf-8", "replace"))
    except UrlError:
        return
    assert 0 < url.uid <= MAX_NUMBER, url
    assert url.uidvalidity is None or 0 < url.uidvalidity <= MAX_NUMBER, url
    assert url.mailbox is None or url.mailbox, url
