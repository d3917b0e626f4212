"""The DNS records a domain served by this host needs, and a check of what DNS says:
shared by `mailroom dns records` (which prints them) and the web's /admin/dns (which
shows them beside what the host's resolver finds).

MX and SPF (RFC 7208: only the domain's MX hosts send its mail), the DKIM key if one
was made (RFC 6376), DMARC (RFC 7489) with reports to the postmaster, MTA-STS (RFC 8461)
and TLS reporting (RFC 8460), and the client autoconfiguration SRV records (RFC 6186,
implicit TLS per RFC 8314) with the ports of this config's listeners; a service with
no listener is published as "not provided" (RFC 6186 §3.4: target "."). Names come
from the config's hostname. The records are derived, never stored: they follow the
listeners and keys of the moment.

The check compares record data, not text: a TXT record split into other strings, or
names in another case, is the same record. Several TXT records may share a name (the
apex holds verification tokens beside SPF), so a TXT record is compared only with the
ones of its own kind (same `v=` tag).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from enum import StrEnum

import dns.exception
import dns.rdata

from mailroom.config import Config, DkimAlgorithm, Protocol, TlsMode
from mailroom.dns import Resolver
from mailroom.dns.resolver import DnsTemporaryError, NoRecord
from mailroom.mailauth import DkimError, DkimKeys
from mailroom.mailauth.dkim import record_name, txt_character_strings

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
    """What `mailroom dns records DOMAIN` prints: the records as zone-file lines, with
    comments on what else to do."""
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


@dataclass(frozen=True)
class DomainDns:
    """Everything the DNS of one domain needs, as the CLI prints it and the web shows it."""

    domain: str
    records: tuple[ZoneRecord, ...]
    text: str
    """Exactly what `mailroom dns records DOMAIN` prints."""
    dkim_selector: str | None
    """The selector of the domain's DKIM key; None when it has none (or it is unusable)."""
    dkim_algorithm: str | None
    dkim_created: float | None
    """When the key file was written (epoch seconds): DKIM keys do not expire, but an
    old one is due for rotation (M3AAWG advises every six months or so)."""
    dkim_problem: str | None
    """Why the key could not be read (the records are then shown without it)."""


def domain_dns(config: Config, keys: DkimKeys, domain: str) -> DomainDns:
    """The records of `domain` (normalised), its DKIM key read from `keys` (blocking: a
    file read and a key parse). An unreadable key is reported, not raised."""
    problem, created = None, None
    try:
        key = keys.load(domain)
        dkim_record = None if key is None else (key.selector, key.dns_txt_record)
        if key is not None:
            created = keys.path(domain).stat().st_mtime
    except DkimError as error:
        key, dkim_record, problem = None, None, str(error)
    except OSError:  # removed between the read and the stat
        pass
    return DomainDns(
        domain=domain,
        records=tuple(domain_records(config, domain, dkim_record)),
        text=records_text(config, domain, dkim_record),
        dkim_selector=None if key is None else key.selector,
        dkim_algorithm=None if key is None else key.algorithm.value,
        dkim_created=created,
        dkim_problem=problem,
    )


class PublishedState(StrEnum):
    PUBLISHED = "published"
    MISSING = "missing"
    DIFFERENT = "different"
    UNKNOWN = "unknown"
    """DNS did not answer (a timeout, SERVFAIL): it may pass."""


@dataclass(frozen=True)
class PublishedCheck:
    record: ZoneRecord
    state: PublishedState
    found: tuple[str, ...] = ()
    """What DNS holds at the name, of the type (TXT: of the same kind), as it wrote it."""
    detail: str = ""


def comparable_data(rtype: str, text: str) -> object:
    """A record's data in a form where equal records compare equal."""
    rdata = dns.rdata.from_text("IN", rtype, text)
    if rtype == "TXT":
        return b"".join(rdata.strings)  # type: ignore[attr-defined]
    return rdata  # dnspython compares rdata in canonical (wire) form


def txt_kind(value: object) -> bytes:
    """The `v=` tag a TXT record starts with (b"" if none): SPF, DKIM, DMARC..."""
    text = value if isinstance(value, bytes) else b""
    first = text.split(b";", 1)[0].split(b" ", 1)[0].strip().lower()
    return first if first.startswith(b"v=") else b""


async def check_record(resolver: Resolver, record: ZoneRecord) -> PublishedCheck:
    """Whether `record` is what DNS answers for its name and type."""
    try:
        answers = await resolver.records(record.name, record.rtype)
    except NoRecord as error:
        return PublishedCheck(record, PublishedState.MISSING, detail=str(error))
    except DnsTemporaryError as error:
        return PublishedCheck(record, PublishedState.UNKNOWN, detail=str(error))
    expected = comparable_data(record.rtype, record.data)
    found: list[tuple[str, object]] = []
    for answer in answers:
        try:
            found.append((answer, comparable_data(record.rtype, answer)))
        except (dns.exception.DNSException, ValueError):
            found.append((answer, None))
    if record.rtype == "TXT" and txt_kind(expected):
        found = [(text, value) for text, value in found if txt_kind(value) == txt_kind(expected)]
        if not found:
            return PublishedCheck(record, PublishedState.MISSING, detail="no record of its kind")
    texts = tuple(text for text, _ in found)
    if any(value == expected for _, value in found):
        return PublishedCheck(record, PublishedState.PUBLISHED, texts)
    return PublishedCheck(record, PublishedState.DIFFERENT, texts)


class HostDnsPublication:
    """The web's view of DNS (`WebServices.dns`): the records of a domain, and a check of
    each through the host's one resolver (its cache too: a record published a minute
    ago may show as missing until the negative answer's TTL ends)."""

    def __init__(self, config: Config, keys: DkimKeys, resolver: Resolver) -> None:
        self.config = config
        self.keys = keys
        self.resolver = resolver

    async def records(self, domain: str) -> DomainDns:
        return await asyncio.to_thread(domain_dns, self.config, self.keys, domain)

    async def make_dkim_key(self, domain: str, algorithm: DkimAlgorithm) -> str | None:
        """Make `domain`'s first key, as `mailroom dkim keygen` does; an existing key is
        never replaced from here (every signature fails until DNS follows a new one).
        None when made, else why not."""

        def create() -> str | None:
            try:
                self.keys.create(domain, algorithm, replace=False)
            except DkimError as error:
                return str(error)
            except OSError as error:
                return (
                    f"cannot write the key into {self.keys.directory}: "
                    f"{error.strerror or error}; make it writable or set [dkim] key_directory"
                )
            return None

        return await asyncio.to_thread(create)

    async def check(self, domain: str) -> list[PublishedCheck]:
        found = await self.records(domain)
        checks = (check_record(self.resolver, record) for record in found.records)
        return list(await asyncio.gather(*checks))
