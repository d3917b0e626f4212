"""DKIM and ARC verification of received mail (`mailroom.mailauth.dkim_verify`,
`mailroom.mailauth.arc`): the DKIM-Signature, ARC-Seal, ARC-Message-Signature and
ARC-Authentication-Results fields anyone can write, read by our code and dkimpy.

The input is a message. Every key lookup is answered (`fuzz.answers`) with a fixed
Ed25519 key record, or an RSA one for a selector starting with `rsa`, so a signature
can pass (the seeds hold one made with that Ed25519 key) and every other path is
reached without DNS. Contract: `verify_dkim` returns one `DkimResult` per
DKIM-Signature up to `MAX_SIGNATURES`, each an RFC 8601 result, d= in lower case, at
most `HEADER_B_LENGTH` characters of b=, a reason without control characters;
`verify_arc` returns none, pass or fail with an instance in 0..`MAX_INSTANCES`; neither
raises. A crash: any exception (dkimpy's leaking through included) or broken invariant.
"""

from __future__ import annotations

import asyncio
import base64

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fuzz.answers import TableResolver
from mailroom.mailauth.arc import MAX_INSTANCES, ArcResult, verify_arc
from mailroom.mailauth.dkim_verify import (
    HEADER_B_LENGTH,
    MAX_SIGNATURES,
    DkimResult,
    signature_fields,
    verify_dkim,
)

ED25519_SEED = bytes(range(32))
"""The seeds' signatures were made with this key (dkimpy: privkey=base64 of the seed)."""
DKIM_RESULTS = ("pass", "fail", "neutral", "policy", "temperror", "permerror")


def _record(key_type: str, public: bytes) -> bytes:
    return b"v=DKIM1; k=" + key_type.encode() + b"; p=" + base64.b64encode(public)


_ED25519 = ed25519.Ed25519PrivateKey.from_private_bytes(ED25519_SEED).public_key()
ED25519_RECORD = _record("ed25519", _ED25519.public_bytes(Encoding.Raw, PublicFormat.Raw))
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
RSA_RECORD = _record("rsa", _RSA.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
RESOLVER = TableResolver(
    {}, lambda name: [RSA_RECORD if name.startswith("rsa") else ED25519_RECORD]
)


def one_input(data: bytes) -> None:
    dkim, arc = asyncio.run(_verify(data))
    assert len(dkim) == min(len(signature_fields(data)), MAX_SIGNATURES), dkim
    for result in dkim:
        _check(result)
    assert arc.result in ("none", "pass", "fail"), arc
    assert 0 <= arc.instance <= MAX_INSTANCES, arc
    assert arc.reason, arc


async def _verify(data: bytes) -> tuple[list[DkimResult], ArcResult]:
    return await verify_dkim(data, RESOLVER), await verify_arc(data, RESOLVER)


def _check(result: DkimResult) -> None:
    assert result.result in DKIM_RESULTS, result
    assert result.domain == result.domain.lower(), result
    assert len(result.signature_b) <= HEADER_B_LENGTH, result
    assert result.reason and result.reason.isprintable(), result
