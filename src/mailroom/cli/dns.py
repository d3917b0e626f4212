"""`mailroom dns records DOMAIN`: every DNS record a domain served by this host needs,
as zone-file lines for the operator to publish.

MX and SPF (RFC 7208: only the domain's MX hosts send its mail), the DKIM key if one
was made (RFC 6376), DMARC (RFC 7489) with reports to the postmaster, MTA-STS (RFC 8461)
and TLS reporting (RFC 8460), and the client autoconfiguration SRV records (RFC 6186,
implicit TLS per RFC 8314) with the ports of this config's listeners; a service with
no listener is published as "not provided" (RFC 6186 §3.4: target "."). Names come
from the config's hostname. The records are derived, never stored: run the command
again after changing listeners or keys. They are made by `app.dns_records`, which the
web's /admin/dns shows too.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mailroom import app as application
from mailroom.app.dns_records import domain_dns
from mailroom.cli.command import ConfigOption, command, command_group, console, fail, load
from mailroom.directory import normalize_domain
from mailroom.mailauth import DkimError

app = command_group("DNS records to publish for a domain.")


@command(app, "records")
def records(
    domain: Annotated[str, typer.Argument(help="The domain, like example.org.")],
    config: ConfigOption = None,
) -> None:
    """Print every DNS record DOMAIN needs, in zone-file syntax."""
    loaded = load(config)
    name = normalize_domain(domain)
    try:
        keys = application.dkim_keys(loaded)
    except DkimError as error:
        fail(str(error))
    found = domain_dns(loaded, keys, name)
    if found.dkim_problem is not None:
        fail(found.dkim_problem)
    console.print(found.text)
