"""DKIM verification of received mail: real signatures made by dkimpy (RSA and Ed25519),
keys published in a real DNS server on 127.0.0.1 and fetched through the host's
resolver; one RFC 8601 result per signature."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import dkim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.config import DkimAlgorithm
from mailroom.dns import Resolver
from mailroom.mailauth.dkim import DkimKey, DkimKeys, DkimSigner, txt_character_strings
from mailroom.mailauth.dkim_verify import DkimResult, verify_dkim
from tests.support.dns_server import DnsServer, start_dns_server

MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: bob@mailroom.test\r\n"
    b"Subject: minutes of the meeting\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    b"Message-ID: <minutes-1@example.test>\r\n"
    b"\r\n"
    b"We met, we talked,\r\n"
    b"we agreed.\r\n"
)

# A 512-bit RSA key (made with `openssl genrsa 512`): too short to be accepted (RFC 8301
# §3.2), and too short for `cryptography` to make one, hence kept here.
SHORT_RSA_KEY = b"""-----BEGIN RSA PRIVATE KEY-----
MIIBOwIBAAJBALzqXQlgT88L6dSbYSkNuDnlZSXIO3e8hR8DVCDIiO38+unXGtm1
T6byiyBF/2ahEkmb26HeWOWto6CjURX5xK8CAwEAAQJBAJQPisNifKplR+qdrNSk
MBMQOuoVuKXrVtorna/j+42pM6IkdSIPH22KmFlGcpwnWxsHoscnqhDM134dGsC0
xAECIQDgtfs9ei/S1X0RdXCPxcWeOOV3R7TN1btT3VwYrYVMLwIhANc4bHwxG9vF
TsURAzCoNDFd84wNE7UBcD8pRL5zGm+BAiB8FkIc2sJZ7KZZ4746xn2wN78PNTu0
hpghYZWf0wJO5QIgJGcRymvQB3s3GJQJExjQQy1d/WlU1P/aSYSkcQYtCYECIQCI
obiU3ooURJ7UlC2xixrgtFT3SsYyd5cPZJ3jCdtTcw==
-----END RSA PRIVATE KEY-----
"""


def txt_value(record: str) -> str:
    """A TXT record in presentation form, cut into 255-octet strings as DNS carries it."""
    return " ".join(f'"{piece}"' for piece in txt_character_strings(record))


def publish(records: dict[str, dict[str, list[str]]], key: DkimKey) -> None:
    name = f"{key.selector}._domainkey.{key.domain}"
    records[name] = {"TXT": [txt_value(key.dns_txt_record)]}


class World:
    """Keys for a few domains, published in a running DNS server."""

    def __init__(self, tmp_path: Path) -> None:
        self.records: dict[str, dict[str, list[str]]] = {}
        self.rsa = DkimKeys(tmp_path / "rsa", "mail")
        self.ed = DkimKeys(tmp_path / "ed", "ed")
        for domain in ("example.test", "list.test"):
            publish(self.records, self.rsa.create(domain, DkimAlgorithm.RSA))
        publish(self.records, self.ed.create("example.test", DkimAlgorithm.ED25519))
        self.server: DnsServer | None = None

    async def start(self, servfail: set[str] | None = None) -> Resolver:
        self.server = await start_dns_server(self.records, servfail)
        return Resolver(["127.0.0.1"], self.server.port, timeout=2)

    def stop(self) -> None:
        if self.server is not None and self.server.transport is not None:
            self.server.transport.close()

    def sign(self, message: bytes, keys: DkimKeys, domain: str = "example.test") -> bytes:
        header = DkimSigner(keys).sign(message, domain)
        assert header is not None
        return header + message


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    made = World(tmp_path)
    yield made
    made.stop()


async def test_an_unsigned_message_has_no_result(world: World) -> None:
    resolver = await world.start()
    assert await verify_dkim(MESSAGE, resolver) == []


async def test_an_rsa_signature_passes(world: World) -> None:
    resolver = await world.start()
    signed = world.sign(MESSAGE, world.rsa)
    [result] = await verify_dkim(signed, resolver)
    assert (result.result, result.domain, result.selector) == ("pass", "example.test", "mail")
    b = re.search(rb"\bb=([A-Za-z0-9+/\s]+)", signed.split(b"\r\n\r\n")[0])
    assert b is not None
    assert len(result.signature_b) >= 8
    assert re.sub(rb"\s", b"", b.group(1)).decode().startswith(result.signature_b)


async def test_an_ed25519_signature_passes(world: World) -> None:
    resolver = await world.start()
    [result] = await verify_dkim(world.sign(MESSAGE, world.ed), resolver)
    assert (result.result, result.selector) == ("pass", "ed")


async def test_a_selector_in_capitals_finds_its_key(world: World) -> None:
    resolver = await world.start()
    key = world.rsa.load("example.test")
    assert key is not None
    header = dkim.sign(MESSAGE, b"MAIL", b"Example.TEST", key.private_key_pem)
    [result] = await verify_dkim(header + MESSAGE, resolver)
    assert (result.result, result.domain, result.selector) == ("pass", "example.test", "MAIL")


async def test_a_message_with_lf_line_ends_verifies_too(world: World) -> None:
    resolver = await world.start()
    signed = world.sign(MESSAGE, world.rsa).replace(b"\r\n", b"\n")
    assert [r.result for r in await verify_dkim(signed, resolver)] == ["pass"]


async def test_a_changed_body_fails(world: World) -> None:
    resolver = await world.start()
    signed = world.sign(MESSAGE, world.rsa).replace(b"we agreed.", b"we disagreed.")
    [result] = await verify_dkim(signed, resolver)
    assert result.result == "fail"
    assert "body hash" in result.reason


async def test_a_changed_signed_header_fails(world: World) -> None:
    resolver = await world.start()
    signed = world.sign(MESSAGE, world.ed).replace(b"minutes of", b"notes of")
    [result] = await verify_dkim(signed, resolver)
    assert (result.result, result.reason) == ("fail", "signature did not verify")


async def test_every_signature_has_its_result_in_order(world: World) -> None:
    resolver = await world.start()
    twice = world.sign(world.sign(MESSAGE, world.ed), world.rsa, "list.test")
    results = await verify_dkim(twice, resolver)
    assert [(r.domain, r.selector, r.result) for r in results] == [
        ("list.test", "mail", "pass"),
        ("example.test", "ed", "pass"),
    ]


async def test_a_key_that_is_not_published_is_a_permerror(world: World) -> None:
    signed = world.sign(MESSAGE, world.rsa)
    del world.records["mail._domainkey.example.test"]
    resolver = await world.start()
    [result] = await verify_dkim(signed, resolver)
    assert result.result == "permerror"
    assert "no key" in result.reason


async def test_a_failing_key_lookup_is_a_temperror(world: World) -> None:
    resolver = await world.start(servfail={"mail._domainkey.example.test"})
    [result] = await verify_dkim(world.sign(MESSAGE, world.rsa), resolver)
    assert (result.result, result.domain) == ("temperror", "example.test")


async def test_a_revoked_key_is_a_permerror(world: World) -> None:
    world.records["mail._domainkey.example.test"] = {"TXT": ['"v=DKIM1; k=rsa; p="']}
    resolver = await world.start()
    [result] = await verify_dkim(world.sign(MESSAGE, world.rsa), resolver)
    assert (result.result, result.reason) == ("permerror", "key revoked (empty p=)")


async def test_a_key_of_another_type_than_the_signature_is_a_permerror(world: World) -> None:
    ed_record = world.records["ed._domainkey.example.test"]
    world.records["mail._domainkey.example.test"] = ed_record
    resolver = await world.start()
    [result] = await verify_dkim(world.sign(MESSAGE, world.rsa), resolver)
    assert result.result == "permerror"
    assert "does not match the key type" in result.reason


async def test_an_rsa_sha1_signature_is_refused_by_policy(world: World) -> None:
    resolver = await world.start()
    key = world.rsa.load("example.test")
    assert key is not None
    header = dkim.sign(MESSAGE, b"mail", b"example.test", key.private_key_pem,
                       signature_algorithm=b"rsa-sha1")  # fmt: skip
    [result] = await verify_dkim(header + MESSAGE, resolver)
    assert result.result == "policy"
    assert "rsa-sha1" in result.reason


async def test_a_key_under_1024_bits_is_refused_by_policy(world: World) -> None:
    short = DkimKey("example.test", "short", DkimAlgorithm.RSA, SHORT_RSA_KEY)
    publish(world.records, short)
    resolver = await world.start()
    header = dkim.sign(MESSAGE, b"short", b"example.test", SHORT_RSA_KEY)
    [result] = await verify_dkim(header + MESSAGE, resolver)
    assert result.result == "policy"
    assert "1024" in result.reason


async def test_an_expired_signature_is_refused_by_policy(world: World) -> None:
    resolver = await world.start()
    header = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=mail; c=relaxed/relaxed;\r\n"
        b" t=1000000000; x=1000003600; h=from; bh=AAAA; b=AAAAAAAAAAAA\r\n"
    )
    [result] = await verify_dkim(header + MESSAGE, resolver)
    assert (result.result, result.reason) == ("policy", "signature expired")
    assert world.server is not None and world.server.queries == []


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=mail\r\n", "missing"),
        (b"DKIM-Signature: this is no tag list\r\n", "unreadable signature"),
        (b"DKIM-Signature: v=1; v=1\r\n", "unreadable signature"),
        (
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=a..b; h=from;"
            b" bh=AAAA; b=AAAA\r\n",
            "not a domain name",
        ),
        (
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=mail; h=from;"
            b" i=@other.test; bh=AAAA; b=AAAA\r\n",
            "not a subdomain",
        ),
    ],
)
async def test_an_unreadable_signature_is_a_permerror_without_a_lookup(
    world: World, header: bytes, reason: str
) -> None:
    resolver = await world.start()
    [result] = await verify_dkim(header + MESSAGE, resolver)
    assert result.result == "permerror"
    assert reason in result.reason
    assert world.server is not None and world.server.queries == []


async def test_signatures_past_the_limit_are_not_looked_at(world: World) -> None:
    resolver = await world.start()
    signed = MESSAGE
    for _ in range(7):
        signed = world.sign(signed, world.rsa, "list.test")
    results = await verify_dkim(signed, resolver, max_signatures=3)
    # Each new signature covers the body only; the headers it signs are the same.
    assert [r.result for r in results] == ["pass", "pass", "pass"]
    assert world.server is not None
    assert world.server.queries == [("mail._domainkey.list.test", "TXT")]


async def test_each_key_is_fetched_once_and_cached(world: World) -> None:
    resolver = await world.start()
    signed = world.sign(MESSAGE, world.rsa)
    await verify_dkim(signed, resolver)
    await verify_dkim(signed, resolver)
    assert world.server is not None
    assert world.server.queries == [("mail._domainkey.example.test", "TXT")]


RESULTS = {"pass", "fail", "neutral", "policy", "temperror", "permerror"}

tag_values = st.text(alphabet=st.characters(codec="ascii", exclude_characters=";\r\n"), max_size=40)
hostile_tags = st.dictionaries(
    st.sampled_from(["v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z"]),
    tag_values,
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tags=hostile_tags,
    raw=st.binary(max_size=200),
    body=st.binary(max_size=100),
)
def test_hostile_signatures_and_messages_give_results_never_exceptions(
    tags: dict[str, str], raw: bytes, body: bytes
) -> None:
    signature = "; ".join(f"{name}={value}" for name, value in tags.items()).encode()

    async def run() -> list[list[DkimResult]]:
        # Every key name answers with a record: the verifier gets that far too.
        server = await start_dns_server({})
        server.records = _EverythingHasAKey()  # type: ignore[assignment]
        resolver = Resolver(["127.0.0.1"], server.port, timeout=2)
        try:
            return [
                await verify_dkim(b"DKIM-Signature: " + signature + b"\r\n" + MESSAGE, resolver),
                await verify_dkim(b"DKIM-Signature:" + raw + b"\r\n\r\n" + body, resolver),
                await verify_dkim(raw + b"\r\n" + body, resolver),
            ]
        finally:
            assert server.transport is not None
            server.transport.close()

    for results in asyncio.run(run()):
        assert len(results) <= 5
        for result in results:
            assert result.result in RESULTS
            assert result.result != "pass"
            assert result.reason.isprintable()


class _EverythingHasAKey(dict[str, dict[str, list[str]]]):
    """Any name holds a TXT key record (one Ed25519 key, one that is garbage)."""

    def __contains__(self, name: object) -> bool:
        return True

    def __getitem__(self, name: str) -> dict[str, list[str]]:
        return {
            "TXT": [
                '"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="',
                '"v=DKIM1; p=not base64 at all"',
            ]
        }
