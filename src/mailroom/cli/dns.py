"""`mailroom dns records DOMAIN`: every DNS record a domain served by this host needs,
as zone-file lines for the operator to publish.

MX and SPF (RFC 7208: only the domain's MX hosts send its mail), the DKIM key if one
was made (RFC 6376), DMARC (RFC 7489) with reports to the postmaster, MTA-STS (RFC 8461)
and TLS reporting (RFC 8460), and the client autoconfiguration SRV records (RFC 6186,
implicit TLS per RFC 8314) with the ports of this config's listeners; a service with
no listener is published as "not provided" (RFC 6186 §3.4: target "."). Names come
from the config's hostname. The records are derived, never stored: run the command
again after changing listeners or keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import typer

from mailroom import app as application
from mailroom.cli.command import ConfigOption, command, command_group, console, fail, load
from mailroom.config import Config, Protocol, TlsMode
from mailroom.directory import normalize_domain
from mailroom.mailauth import DkimError
from mailroom.mailauth.dkim import record_name, txt_character_strings

app = command_group("DNS records to publish for a domain.")

TTL = 3600
MX_PREFERENCE = 10
MTA_STS_MAX_AGE = 7 * 24 * 3600
"""RFC 8461 §3.2: a week is a reasonable policy lifetime to start with."""

# (SRV service label, protocol, TLS mode of the listener that serves it), in the order
# RFC 8314 §5.1 prefers: implicit TLS first.
SRV_SERVICES = (
    ("_submissions._tcp", Protocol.SUBMISSION, TlsMode.IMPLICIT),
    ("_submission._tcp", Protocol.SUBMISSION, TlsMode.STARTTLS),
    ("_imaps._tcp", Protocol.IMAP, TlsMode.IMPLICIT),
    ("_imap._tcp", Protocol.IMAP, TlsMode.STARTTLS),
    ("_pop3s._tcp", Protocol.POP3, TlsMode.IMPLICIT),
)


@dataclass(frozen=True)
class ZoneRecord:
    name: str
    """Fully qualified, with the final dot."""
    rtype: str
    data: str

    def line(self, width: int) -> str:
        return f"{self.name:<{width}} {TTL} IN {self.rtype:<5} {self.data}"


def _txt(text: str) -> str:
    return " ".join(f'"{piece}"' for piece in txt_character_strings(text))


def mta_sts_policy(hostname: str, mode: str = "testing") -> str:
    """The policy file (RFC 8461 §3.2) naming this host as the only MX, CRLF lines."""
    lines = ["version: STSv1", f"mode: {mode}", f"mx: {hostname}", f"max_age: {MTA_STS_MAX_AGE}"]
    return "".join(f"{line}\r\n" for line in lines)


def mta_sts_id(policy: str) -> str:
    """A policy id (RFC 8461 §3.1: 1-32 letters and digits) that changes exactly when
    the policy does, so senders fetch it again then and only then."""
    return hashlib.sha256(policy.encode()).hexdigest()[:20]


def srv_port(config: Config, protocol: Protocol, tls: TlsMode) -> int | None:
    for listener in config.listeners:
        if listener.protocol is protocol and listener.tls is tls:
            return listener.port
    return None


def domain_records(
    config: Config, domain: str, dkim_record: tuple[str, str] | None
) -> list[ZoneRecord]:
    """The records of `domain`; `dkim_record` is (selector, TXT text) if a key exists."""
    host = config.hostname
    apex = f"{domain}."
    records = [
        ZoneRecord(apex, "MX", f"{MX_PREFERENCE} {host}."),
        ZoneRecord(apex, "TXT", _txt("v=spf1 mx -all")),
    ]
    if dkim_record is not None:
        selector, text = dkim_record
        records.append(ZoneRecord(record_name(selector, domain), "TXT", _txt(text)))
    postmaster = f"postmaster@{domain}"
    policy_id = mta_sts_id(mta_sts_policy(host))
    records += [
        ZoneRecord(
            f"_dmarc.{apex}", "TXT", _txt(f"v=DMARC1; p=quarantine; rua=mailto:{postmaster}")
        ),
        ZoneRecord(f"_mta-sts.{apex}", "TXT", _txt(f"v=STSv1; id={policy_id}")),
        ZoneRecord(f"mta-sts.{apex}", "CNAME", f"{host}."),
        ZoneRecord(f"_smtp._tls.{apex}", "TXT", _txt(f"v=TLSRPTv1; rua=mailto:{postmaster}")),
    ]
    for service, protocol, tls in SRV_SERVICES:
        port = srv_port(config, protocol, tls)
        data = "0 0 0 ." if port is None else f"0 1 {port} {host}."
        records.append(ZoneRecord(f"{service}.{apex}", "SRV", data))
    return records


def records_text(config: Config, domain: str, dkim_record: tuple[str, str] | None) -> str:
    records = domain_records(config, domain, dkim_record)
    width = max(len(record.name) for record in records)
    host = config.hostname
    lines = [
        f"; DNS records for {domain}, whose mail host is {host} (mailroom dns records)",
        f"; {host} itself needs A/AAAA records with this host's public addresses, and",
        "; their PTR records should name it.",
        *(record.line(width) for record in records),
    ]
    if dkim_record is None:
        lines.append(f"; no DKIM key yet: `mailroom dkim keygen {domain}` makes one")
    if config.delivery.relayhost:
        lines.append(
            f"; mail leaves through the relay host {config.delivery.relayhost}: "
            "add its addresses to the SPF record"
        )
    lines += [
        f"; DMARC and TLS reports go to postmaster@{domain}: make sure it exists (an alias).",
        f"; The MTA-STS policy, served at https://mta-sts.{domain}/.well-known/mta-sts.txt",
        f"; (a certificate valid for mta-sts.{domain}); change mode to enforce once",
        "; TLS reports show no failures:",
        *(f";   {line}" for line in mta_sts_policy(host).splitlines()),
    ]
    return "\n".join(lines)


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
        key = keys.load(name)
    except DkimError as error:
        fail(str(error))
    dkim_record = None if key is None else (key.selector, key.dns_txt_record)
    console.print(records_text(loaded, name, dkim_record))
