"""ARC (RFC 8617): chains sealed by dkimpy's ARC signer verified through the host's
resolver against a real DNS server on 127.0.0.1, and our own seal checked by dkimpy's
ARC verifier."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import dkim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.config import DkimAlgorithm
from mailroom.dns import Resolver
from mailroom.mailauth.arc import ArcError, ArcResult, ArcSealer, verify_arc
from mailroom.mailauth.dkim import DkimKey, DkimKeys, DkimSigner, txt_character_strings
from tests.support.dns_server import DnsServer, start_dns_server

MESSAGE = (
    b"From: Alice <alice@origin.test>\r\n"
    b"To: list@lists.test\r\n"
    b"Subject: the agenda\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    b"Message-ID: <agenda-1@origin.test>\r\n"
    b"\r\n"
    b"Item one: the roof.\r\n"
)

HOST = "mx.mailroom.test"


def txt_value(record: str) -> str:
    return " ".join(f'"{piece}"' for piece in txt_character_strings(record))


def record_of(key: DkimKey) -> dict[str, dict[str, list[str]]]:
    return {f"{key.selector}._domainkey.{key.domain}": {"TXT": [txt_value(key.dns_txt_record)]}}


def authentication_results(authserv_id: str, results: str) -> bytes:
    return f"Authentication-Results: {authserv_id}; {results}\r\n".encode()


class Hops:
    """Forwarders with RSA keys published in a running DNS server."""

    def __init__(self, tmp_path: Path) -> None:
        self.keys = DkimKeys(tmp_path / "keys", "arc")
        self.records: dict[str, dict[str, list[str]]] = {}
        for domain in ("lists.test", "relay.test", "mailroom.test"):
            self.records.update(record_of(self.keys.create(domain, DkimAlgorithm.RSA)))
        self.server: DnsServer | None = None

    async def resolver(self, servfail: set[str] | None = None) -> Resolver:
        self.server = await start_dns_server(self.records, servfail)
        return Resolver(["127.0.0.1"], self.server.port, timeout=2)

    def seal(self, message: bytes, domain: str, results: str) -> bytes:
        """What dkimpy's ARC signer adds at `domain` after its reception wrote `results`."""
        authserv_id = f"mx.{domain}"
        received = authentication_results(authserv_id, results) + message
        key = self.keys.load(domain)
        assert key is not None
        fields = dkim.arc_sign(
            received, b"arc", domain.encode(), key.private_key_pem, authserv_id.encode()
        )
        assert len(fields) == 3
        return b"".join(fields) + received

    def dnsfunc(self) -> Callable[..., bytes | None]:
        """dkimpy's own lookup, answered from the same records (for checking our seal)."""

        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            found = self.records.get(name.decode().rstrip(".").lower())
            if not found:
                return None
            return "".join(re.findall(r'"([^"]*)"', found["TXT"][0])).encode()

        return lookup

    def stop(self) -> None:
        if self.server is not None and self.server.transport is not None:
            self.server.transport.close()


@pytest.fixture
async def hops(tmp_path: Path) -> AsyncIterator[Hops]:
    made = Hops(tmp_path)
    yield made
    made.stop()


async def test_a_message_without_arc_sets_is_none(hops: Hops) -> None:
    assert await verify_arc(MESSAGE, await hops.resolver()) == ArcResult("none", 0, "no ARC sets")


async def test_one_sealed_hop_passes(hops: Hops) -> None:
    sealed = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    result = await verify_arc(sealed, await hops.resolver())
    assert (result.result, result.instance) == ("pass", 1)


async def test_two_sealed_hops_pass(hops: Hops) -> None:
    first = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    second = hops.seal(first, "relay.test", "arc=pass; spf=fail smtp.mailfrom=lists.test")
    result = await verify_arc(second, await hops.resolver())
    assert (result.result, result.instance) == ("pass", 2)


async def test_a_body_changed_after_the_seal_fails(hops: Hops) -> None:
    sealed = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    result = await verify_arc(sealed.replace(b"the roof", b"the cellar"), await hops.resolver())
    assert (result.result, result.instance) == ("fail", 1)
    assert "ARC-Message-Signature did not validate" in result.reason


async def test_a_changed_arc_authentication_results_breaks_the_seal(hops: Hops) -> None:
    sealed = hops.seal(MESSAGE, "lists.test", "spf=fail smtp.mailfrom=alice@origin.test")
    forged = sealed.replace(b"spf=fail", b"spf=pass", 1)
    assert forged != sealed
    result = await verify_arc(forged, await hops.resolver())
    assert result.result == "fail"
    assert "ARC-Seal[1] did not validate" in result.reason


async def test_a_set_missing_its_seal_fails_without_a_lookup(hops: Hops) -> None:
    sealed = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    without_seal = re.sub(rb"ARC-Seal:.*?\r\n(?=\S)", b"", sealed, count=1, flags=re.S)
    resolver = await hops.resolver()
    result = await verify_arc(without_seal, resolver)
    assert (result.result, result.reason) == ("fail", "ARC set 1 is incomplete or repeated")
    assert hops.server is not None and hops.server.queries == []


async def test_a_chain_whose_last_seal_says_fail_fails(hops: Hops) -> None:
    first = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    second = hops.seal(first, "relay.test", "arc=fail")
    result = await verify_arc(second, await hops.resolver())
    assert (result.result, result.instance) == ("fail", 2)
    assert "cv=fail" in result.reason


async def test_a_chain_past_fifty_sets_fails(hops: Hops) -> None:
    header = b"ARC-Seal: i=51; cv=pass; a=rsa-sha256; d=lists.test; s=arc; b=AAAA\r\n"
    result = await verify_arc(header + MESSAGE, await hops.resolver())
    assert (result.result, result.instance) == ("fail", 50)


async def test_a_key_that_cannot_be_fetched_fails_and_says_so(hops: Hops) -> None:
    sealed = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    result = await verify_arc(sealed, await hops.resolver({"arc._domainkey.lists.test"}))
    assert result.result == "fail"
    assert "key lookup failed for arc._domainkey.lists.test" in result.reason


async def test_our_seal_is_accepted_by_dkimpy(hops: Hops) -> None:
    received = authentication_results(HOST, "spf=pass smtp.mailfrom=alice@origin.test; arc=none")
    fields = ArcSealer(hops.keys, HOST).seal(received + MESSAGE, "mailroom.test")
    assert fields is not None
    names = re.findall(rb"^([A-Za-z-]+):", fields, flags=re.M)
    assert names == [b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results"]
    assert b"i=1; mx.mailroom.test;" in fields
    assert b"spf=pass smtp.mailfrom=alice@origin.test" in fields
    status, _, reason = dkim.arc_verify(fields + received + MESSAGE, dnsfunc=hops.dnsfunc())
    assert (status, reason) == (dkim.CV_Pass, "success")
    result = await verify_arc(fields + received + MESSAGE, await hops.resolver())
    assert (result.result, result.instance) == ("pass", 1)


async def test_our_seal_continues_a_chain_and_covers_dkim_signatures(hops: Hops) -> None:
    first = hops.seal(MESSAGE, "lists.test", "spf=pass smtp.mailfrom=alice@origin.test")
    signed = DkimSigner(hops.keys).sign(first, "lists.test")
    assert signed is not None
    received = authentication_results(HOST, "dkim=pass header.d=lists.test; arc=pass") + (
        signed + first
    )
    fields = ArcSealer(hops.keys, HOST).seal(received, "mailroom.test")
    assert fields is not None
    ams = re.search(rb"ARC-Message-Signature:(.*?)\r\n(?=\S)", fields, flags=re.S)
    assert ams is not None and b"dkim-signature" in ams.group(1).lower()
    assert b"cv=pass" in fields
    status, _, _ = dkim.arc_verify(fields + received, dnsfunc=hops.dnsfunc())
    assert status == dkim.CV_Pass
    result = await verify_arc(fields + received, await hops.resolver())
    assert (result.result, result.instance) == ("pass", 2)


def test_no_seal_without_authentication_results_of_ours(hops: Hops) -> None:
    elsewhere = authentication_results("mx.elsewhere.test", "spf=pass smtp.mailfrom=a@b.test")
    assert ArcSealer(hops.keys, HOST).seal(elsewhere + MESSAGE, "mailroom.test") is None
    assert ArcSealer(hops.keys, HOST).seal(MESSAGE, "mailroom.test") is None


def test_no_seal_for_a_domain_without_a_key(hops: Hops) -> None:
    received = authentication_results(HOST, "spf=pass smtp.mailfrom=alice@origin.test")
    assert ArcSealer(hops.keys, HOST).seal(received + MESSAGE, "nokey.test") is None


def test_an_ed25519_key_cannot_seal(tmp_path: Path) -> None:
    keys = DkimKeys(tmp_path / "ed", "ed")
    keys.create("mailroom.test", DkimAlgorithm.ED25519)
    received = authentication_results(HOST, "spf=pass smtp.mailfrom=alice@origin.test")
    with pytest.raises(ArcError, match="ARC needs RSA"):
        ArcSealer(keys, HOST).seal(received + MESSAGE, "mailroom.test")


async def test_seal_async_gives_the_same_set_shape(hops: Hops) -> None:
    received = authentication_results(HOST, "spf=pass smtp.mailfrom=alice@origin.test")
    fields = await ArcSealer(hops.keys, HOST).seal_async(received + MESSAGE, "mailroom.test")
    assert fields is not None and fields.startswith(b"ARC-Seal: i=1; cv=none;")


ARC_NAMES = ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results", "arc-seal"]
tag_text = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\r\n"), max_size=60)
hostile_field = st.tuples(st.sampled_from(ARC_NAMES), tag_text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.lists(hostile_field, max_size=8), instances=st.lists(st.integers(0, 60)))
def test_hostile_arc_headers_give_a_status_never_an_exception(
    fields: list[tuple[str, str]], instances: list[int]
) -> None:
    lines = []
    for index, (name, text) in enumerate(fields):
        number = instances[index] if index < len(instances) else 1
        lines.append(f"{name}: i={number}; {text}\r\n".encode())
    message = b"".join(lines) + MESSAGE

    async def run() -> ArcResult:
        server = await start_dns_server({})
        try:
            return await verify_arc(message, Resolver(["127.0.0.1"], server.port, timeout=2))
        finally:
            assert server.transport is not None
            server.transport.close()

    result = asyncio.run(run())
    assert result.result in {"none", "pass", "fail"}
    assert result.result != "pass"
    assert 0 <= result.instance <= 50
    assert result.reason.isprintable()
