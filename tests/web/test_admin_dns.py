"""/admin/dns over the real host: each local domain's DKIM key, the records it needs
(exactly what `mailroom dns records` prints), and a check of each against what the
test's DNS server holds, asked through the host's own resolver."""

from __future__ import annotations

import html
import re

import dns.rdata
from hypothesis import given
from hypothesis import strategies as st

from mailroom.app.dns_records import comparable_data, domain_dns, txt_kind
from mailroom.mailauth import DkimAlgorithm, DkimKey, DkimKeys
from mailroom.mailauth.dkim import txt_character_strings
from tests.support.mail_host import MailHost
from tests.web.logged_in import MEMBER, logged_in, post_form

DOMAIN = "example.test"


def keys_of(host: MailHost) -> DkimKeys:
    return DkimKeys(host.config.resolve(host.config.dkim.key_directory), host.config.dkim.selector)


def states(page: str) -> dict[tuple[str, str], str]:
    """(name, type) -> the check's state, from the records table."""
    rows = re.findall(r'<tr data-state="(\w+)" data-name="([^"]+)" data-type="(\w+)">', page)
    return {(name, rtype): state for state, name, rtype in rows}


def dkim_txt(key: DkimKey, pieces: int = 200) -> str:
    """The key's TXT record cut into other strings than ours (the check must not mind)."""
    text = key.dns_txt_record
    return " ".join(f'"{text[i : i + pieces]}"' for i in range(0, len(text), pieces))


async def test_the_overview_lists_each_domain_with_its_dkim_key(web_host: MailHost) -> None:
    keys_of(web_host).create(DOMAIN, DkimAlgorithm.ED25519)
    await web_host.directory.add_domain("other.test")
    async with logged_in(web_host) as client:
        page = await client.get("/admin/dns")
        assert page.status_code == 200
        example = page.text.split('data-domain="example.test"')[1].split("</tr>")[0]
        assert "selector <code>mail</code>, ed25519" in example
        other = page.text.split('data-domain="other.test"')[1].split("</tr>")[0]
        assert "mailroom dkim keygen other.test" in other
        assert 'id="dns-link-other.test" href="/admin/dns/other.test"' in page.text


async def test_a_domain_page_shows_what_mailroom_dns_records_prints(web_host: MailHost) -> None:
    keys = keys_of(web_host)
    keys.create(DOMAIN, DkimAlgorithm.RSA)
    printed = domain_dns(web_host.config, keys, DOMAIN).text
    async with logged_in(web_host) as client:
        page = await client.get("/admin/dns/Example.TEST")
        assert page.status_code == 200
        zone = re.search(r'<pre id="dns-zone">(.*?)</pre>', page.text, re.S)
        assert zone and html.unescape(zone.group(1)) == printed
        assert "mail._domainkey.example.test." in printed
        assert states(page.text) == {}  # nothing asked of DNS until the button


async def test_the_check_compares_each_record_with_what_dns_holds(web_host: MailHost) -> None:
    key = keys_of(web_host).create(DOMAIN, DkimAlgorithm.RSA)
    host = web_host.config.hostname
    web_host.internet.dns.records.update(
        {
            DOMAIN: {
                "MX": [f"10 {host.upper()}."],
                "TXT": ['"v=spf1 a -all"', '"site-verification=abc"'],
            },
            f"mail._domainkey.{DOMAIN}": {"TXT": [dkim_txt(key)]},
            f"_mta-sts.{DOMAIN}": {"TXT": ['"some-other=thing"']},
        }
    )
    web_host.internet.dns.servfail.add(f"_smtp._tls.{DOMAIN}")
    async with logged_in(web_host) as client:
        page = await client.get(f"/admin/dns/{DOMAIN}?check=1")
        assert page.status_code == 200
    found = states(page.text)
    assert found[(f"{DOMAIN}.", "MX")] == "published"  # names compare in any case
    assert found[(f"{DOMAIN}.", "TXT")] == "different"  # SPF, beside another TXT record
    assert "<code>&#34;v=spf1 a -all&#34;</code>" in page.text
    assert found[(f"mail._domainkey.{DOMAIN}.", "TXT")] == "published"  # other strings
    assert found[(f"_dmarc.{DOMAIN}.", "TXT")] == "missing"
    assert found[(f"_mta-sts.{DOMAIN}.", "TXT")] == "missing"  # nothing of its kind
    assert found[(f"_smtp._tls.{DOMAIN}.", "TXT")] == "unknown"
    assert found[(f"_imaps._tcp.{DOMAIN}.", "SRV")] == "missing"


async def test_a_domain_without_a_key_gets_one_made_and_audited(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        page = await client.get(f"/admin/dns/{DOMAIN}")
        assert 'id="dkim-keygen"' in page.text
        made = await post_form(
            client, f"/admin/dns/{DOMAIN}", f"/admin/dns/{DOMAIN}/dkim", {"algorithm": "ed25519"}
        )
        assert made.status_code == 303
        assert made.headers["location"] == f"/admin/dns/{DOMAIN}"
        page = await client.get(f"/admin/dns/{DOMAIN}")
        assert "A DKIM key for example.test is made (ed25519, selector mail)" in page.text
        assert 'id="dkim-keygen"' not in page.text
        assert "ago" in page.text.split('id="dns-dkim"')[1].split("</span>")[0]
    key = keys_of(web_host).load(DOMAIN)
    assert key is not None and key.algorithm is DkimAlgorithm.ED25519
    printed = domain_dns(web_host.config, keys_of(web_host), DOMAIN).text
    assert "mail._domainkey.example.test." in printed
    entries = await web_host.directory.audit_entries()
    assert ("dkim.keygen", DOMAIN, "ed25519, selector mail") in [
        (e.action, e.target, e.detail) for e in entries
    ]


async def test_an_existing_key_is_never_replaced_from_the_web(web_host: MailHost) -> None:
    before = keys_of(web_host).create(DOMAIN, DkimAlgorithm.RSA)
    async with logged_in(web_host) as client:
        answer = await post_form(
            client, f"/admin/dns/{DOMAIN}", f"/admin/dns/{DOMAIN}/dkim", {"algorithm": "rsa"}
        )
        assert answer.status_code == 303
        assert (
            "No key made: a DKIM key for example.test"
            in (await client.get(f"/admin/dns/{DOMAIN}")).text
        )
        bad = await post_form(
            client, f"/admin/dns/{DOMAIN}", f"/admin/dns/{DOMAIN}/dkim", {"algorithm": "dsa"}
        )
        assert bad.status_code == 400
    assert keys_of(web_host).load(DOMAIN) == before
    assert not [e for e in await web_host.directory.audit_entries() if e.action == "dkim.keygen"]


async def test_only_local_domains_have_a_page(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        assert (await client.get("/admin/dns/outside.example")).status_code == 404
        assert (await client.get("/admin/dns/not a domain")).status_code == 404


async def test_a_member_gets_no_dns_page(web_host: MailHost) -> None:
    async with logged_in(web_host, MEMBER) as client:
        assert (await client.get("/admin/dns")).status_code == 403
        assert (await client.get(f"/admin/dns/{DOMAIN}?check=1")).status_code == 403
        answer = await post_form(client, "/", f"/admin/dns/{DOMAIN}/dkim", {"algorithm": "rsa"})
        assert answer.status_code == 403
    assert keys_of(web_host).load(DOMAIN) is None


@given(st.lists(st.binary(max_size=255), min_size=1, max_size=4))
def test_any_txt_record_from_dns_compares_by_its_joined_strings(strings: list[bytes]) -> None:
    wire = b"".join(bytes([len(piece)]) + piece for piece in strings)
    presented = dns.rdata.from_wire("IN", "TXT", wire, 0, len(wire)).to_text()
    value = comparable_data("TXT", presented)
    assert value == b"".join(strings)
    assert isinstance(txt_kind(value), bytes)


def test_our_own_txt_records_compare_equal_however_they_are_split() -> None:
    text = "v=DKIM1; k=rsa; p=" + "A" * 600
    ours = " ".join(f'"{piece}"' for piece in txt_character_strings(text))
    theirs = " ".join(f'"{text[i : i + 100]}"' for i in range(0, len(text), 100))
    assert comparable_data("TXT", ours) == comparable_data("TXT", theirs)
    assert txt_kind(comparable_data("TXT", ours)) == b"v=dkim1"
