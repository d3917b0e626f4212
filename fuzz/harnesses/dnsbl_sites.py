"""DNSBL sites (`mailroom.config.dnsbl.parse_site`, Postfix's
`domain[=filter][*weight]` from the config) and what a list answers
(`AnswerFilter.matches` of its A records, `mailauth.dnsbl.reply_safe` of its TXT
reason, which goes into our SMTP reply).

The input, as text, is cut at LF: the first line is a site, the others answers (as A
record texts and as a TXT reason). Contract: `parse_site` gives a `DnsblSite` (a zone in
lower case, a weight within `MAX_WEIGHT`) or raises `DnsblSiteError`; the site written
back (`str`) reads as the same site; `matches` answers for any text, and a filter that
matches an answer matches it after a round trip too; `reply_safe` gives None or one line
of printable ASCII of at most `MAX_REASON` characters; `query_name` of an address from
the input is a name under the zone. A crash: any other exception or broken invariant.
"""

from __future__ import annotations

import contextlib
import ipaddress

from mailroom.config.dnsbl import MAX_WEIGHT, DnsblSiteError, parse_filter, parse_site
from mailroom.mailauth.dnsbl import MAX_REASON, query_name, reply_safe


def one_input(data: bytes) -> None:
    site_text, *answers = data.decode("utf-8", "replace").split("\n")
    for answer in answers:
        reason = reply_safe(answer)
        assert reason is None or (
            0 < len(reason) <= MAX_REASON and reason.isascii() and reason.isprintable()
        ), reason
    with contextlib.suppress(DnsblSiteError):
        parse_filter(site_text)
    try:
        site = parse_site(site_text)
    except DnsblSiteError as error:
        assert str(error), site_text
        return
    assert site.zone == site.zone.lower() and abs(site.weight) <= MAX_WEIGHT, site
    again = parse_site(str(site))
    assert again == site, (site, again)
    for answer in answers:
        if site.answers is not None and site.answers.matches(answer):
            assert again.answers is not None and again.answers.matches(answer), answer
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            continue
        assert query_name(address, site.zone).endswith("." + site.zone), (answer, site)
