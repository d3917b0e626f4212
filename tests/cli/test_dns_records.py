"""`mailroom dns records DOMAIN`: what it prints is a zone file that dnspython reads,
with the records a domain served by this host needs; the DKIM record it prints lets
dkimpy verify what Mailroom signs."""

from __future__ import annotations

import dkim
import dns.rdatatype
import dns.zone

from mailroom.config import load_config
from mailroom.mailauth import DkimKeys, DkimSigner
from tests.support.installation import Installation

MESSAGE = b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"


def zone_of(installation: Installation, domain: str = "example.org") -> dns.zone.Zone:
    result = installation.run("dns", "records", domain)
    assert result.returncode == 0, result.stderr
    return dns.zone.from_text(
        result.stdout, origin="example.org.", relativize=False, check_origin=False
    )


def values(zone: dns.zone.Zone, name: str, rtype: str) -> list[str]:
    rdataset = zone.get_rdataset(name, rtype)
    assert rdataset is not None, f"no {rtype} record at {name}"
    if rtype == "TXT":
        return [b"".join(rdata.strings).decode() for rdata in rdataset]
    return [rdata.to_text() for rdata in rdataset]


def test_mail_records_name_this_host(installation: Installation) -> None:
    zone = zone_of(installation, "Example.ORG")
    assert values(zone, "example.org.", "MX") == ["10 mail.example.test."]
    assert values(zone, "example.org.", "TXT") == ["v=spf1 mx -all"]
    assert values(zone, "_dmarc.example.org.", "TXT") == [
        "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"
    ]
    assert values(zone, "_smtp._tls.example.org.", "TXT") == [
        "v=TLSRPTv1; rua=mailto:postmaster@example.org"
    ]


def test_mta_sts_record_and_policy_agree(installation: Installation) -> None:
    result = installation.run("dns", "records", "example.org")
    zone = zone_of(installation)
    (sts,) = values(zone, "_mta-sts.example.org.", "TXT")
    assert sts.startswith("v=STSv1; id=")
    assert values(zone, "mta-sts.example.org.", "CNAME") == ["mail.example.test."]
    assert ";   mode: testing\n;   mx: mail.example.test\n;   max_age: 604800" in result.stdout
    again = installation.run("dns", "records", "example.org")
    assert again.stdout == result.stdout  # the id changes only with the policy


def test_client_autoconfiguration_uses_the_listeners_ports(installation: Installation) -> None:
    config = load_config(installation.config)
    ports = {listener.name: listener.port for listener in config.listeners}
    zone = zone_of(installation)
    assert values(zone, "_submissions._tcp.example.org.", "SRV") == [
        f"0 1 {ports['smtps']} mail.example.test."
    ]
    assert values(zone, "_submission._tcp.example.org.", "SRV") == [
        f"0 1 {ports['submission']} mail.example.test."
    ]
    assert values(zone, "_imaps._tcp.example.org.", "SRV") == [
        f"0 1 {ports['imaps']} mail.example.test."
    ]
    assert values(zone, "_imap._tcp.example.org.", "SRV") == [
        f"0 1 {ports['imap']} mail.example.test."
    ]
    assert values(zone, "_pop3s._tcp.example.org.", "SRV") == [
        f"0 1 {ports['pop3s']} mail.example.test."
    ]


def test_a_service_without_a_listener_is_published_as_not_provided(
    installation: Installation,
) -> None:
    text = installation.config.read_text()
    start = text.index('[[listeners]]\nname = "pop3s"')
    end = text.index("\n\n", start) + 2  # the block ends at the blank line
    installation.config.write_text(text[:start] + text[end:])
    zone = zone_of(installation)
    assert values(zone, "_pop3s._tcp.example.org.", "SRV") == ["0 0 0 ."]


def test_without_a_key_there_is_no_dkim_record_but_a_hint(installation: Installation) -> None:
    result = installation.run("dns", "records", "example.org")
    assert "_domainkey" not in result.stdout.replace("; no DKIM key", "")
    assert "; no DKIM key yet: `mailroom dkim keygen example.org` makes one" in result.stdout


def test_the_dkim_record_verifies_what_mailroom_signs(installation: Installation) -> None:
    assert installation.run("dkim", "keygen", "example.org").returncode == 0
    zone = zone_of(installation)
    (record,) = values(zone, "mail._domainkey.example.org.", "TXT")

    config = load_config(installation.config)
    signer = DkimSigner(DkimKeys(config.resolve(config.dkim.key_directory), "mail"))
    header = signer.sign(MESSAGE, "example.org")
    assert header is not None

    def published(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail._domainkey.example.org."
        return record.encode()

    assert dkim.verify(header + MESSAGE, dnsfunc=published)


def test_every_record_is_for_the_domain_asked_about(installation: Installation) -> None:
    zone = zone_of(installation)
    for name in zone.nodes:
        assert name.to_text().endswith("example.org.")
    assert dns.rdatatype.SOA not in {r.rdtype for _, r in zone.iterate_rdatasets()}
