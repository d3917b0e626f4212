"""SPF (`mailroom.mailauth.spf`): the record a sender's domain publishes (RFC 7208 §4),
evaluated by spf3 inside our wrapper (our DNS answers, our §4.6.4 limits, our mapping of
spf3's results and exceptions), and the names a client gives us.

The input, as text, is cut at LF: the first line is the MAIL FROM address (also taken
as the HELO name after its `@`), every further line one TXT record that every name
asked about publishes (so `include:` and `redirect=` come back to the same records,
until the lookup limit stops them); A, MX and PTR lookups have fixed answers. Contract:
`check_mail_from` and `check_helo` return an `SpfResult` whose result is one of RFC 7208
§2.6's (`RESULTS`), whose domain is `domain_of` the sender in lower case or "" (when
`checkable_domain` said no), with a reason; they raise nothing. A crash: any exception
(spf3's own leaking through the wrapper included), or a broken invariant.
"""

from __future__ import annotations

import asyncio

from fuzz.answers import TableResolver
from mailroom.mailauth.spf import (
    RESULTS,
    SpfLimits,
    SpfResult,
    check_helo,
    check_mail_from,
    checkable_domain,
    domain_of,
)

MAX_RECORDS = 8
LIMITS = SpfLimits(time_limit=5.0)
TABLE = {
    "A": ("192.0.2.1",),
    "MX": ("10 mx.example.org.", "20 backup.example.org."),
    "PTR": ("mail.example.org.",),
}


def one_input(data: bytes) -> None:
    sender, *records = data.decode("utf-8", "replace").split("\n")
    answers = [record.encode("utf-8", "surrogateescape") for record in records[:MAX_RECORDS]]
    resolver = TableResolver(TABLE, lambda name: list(answers))
    helo = sender.rpartition("@")[2]
    for client_ip in ("192.0.2.1", "2001:db8::1"):
        results = asyncio.run(_both(resolver, client_ip, sender, helo))
        for result, checked in zip(results, (sender or f"postmaster@{helo}", helo), strict=True):
            assert result.result in RESULTS, result
            assert result.reason, result
            domain = domain_of(checked)
            assert result.domain in ("", domain), (result, domain)
            assert result.domain == "" or checkable_domain(result.domain), result


async def _both(
    resolver: TableResolver, client_ip: str, sender: str, helo: str
) -> tuple[SpfResult, SpfResult]:
    mail_from = await check_mail_from(
        resolver, client_ip=client_ip, sender=sender, helo=helo, receiver="mx.test", limits=LIMITS
    )
    helo_result = await check_helo(
        resolver, client_ip=client_ip, helo=helo, receiver="mx.test", limits=LIMITS
    )
    return mail_from, helo_result
