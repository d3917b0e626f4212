"""DKIM verification of received mail (RFC 6376 §6, Ed25519 per RFC 8463), with the
results named as RFC 8601 §2.7.1 names them.

dkimpy does the cryptography; its own DNS lookups are synchronous, so this room fetches
every key first through the host's one resolver (`mailroom.dns.Resolver`: async, cached,
bounded in time) and then hands dkimpy a `dnsfunc` answering from what was fetched, in a
worker thread (hashing a big body is CPU work). A message is never made to cost more
than `max_signatures` verifications and as many key lookups, whatever it carries
(RFC 6376 §6.1: verifiers MAY limit the signatures they try).

How failures map onto RFC 8601's names:
- `permerror`: a signature or key record that cannot be read (RFC 6376 §6.1.1, §6.1.2:
  PERMFAIL), no key published, a revoked key (empty p=), a key of another type than a=;
- `temperror`: the key lookup failed in a way that may pass (RFC 6376 §6.1.2: TEMPFAIL);
- `fail`: the body hash or the signature does not match (RFC 6376 §6.1.3);
- `policy`: verifiable but not acceptable here: rsa-sha1 (RFC 8301 §3.1), an RSA key
  under 1024 bits (RFC 8301 §3.2), an expired signature (x=, RFC 6376 §3.5);
- `pass`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from mailroom.dns import DnsTemporaryError, Resolver

MAX_SIGNATURES = 5
"""Signatures verified per message by default; further ones are not looked at."""
HEADER_B_LENGTH = 12
"""Characters of b= reported as RFC 8601 `header.b` (RFC 6008 §4: at least 8)."""
MAX_NAME_LENGTH = 253
"""RFC 1035 §2.3.4, in presentation form without the final dot."""

_LABEL = re.compile(rb"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_EMPTY_LINE = re.compile(rb"(?:\A|\n)\r?\n")
_WHITESPACE = re.compile(rb"\s+")

TxtLookup = Callable[..., bytes | None]


@dataclass(frozen=True)
class DkimResult:
    """The outcome of one DKIM-Signature (RFC 8601 §2.7.1)."""

    result: str
    """"pass", "fail", "neutral", "policy", "temperror" or "permerror"."""
    domain: str
    """d=, lower case ("" if the signature has none)."""
    selector: str
    """s= ("" if the signature has none)."""
    signature_b: str
    """The start of b= (RFC 8601 header.b)."""
    reason: str
    """Why, for the log and the Authentication-Results comment."""


@dataclass(frozen=True)
class _Signature:
    """A DKIM-Signature read far enough to know which key it needs."""

    index: int
    domain: str
    selector: str
    signature_b: str
    algorithm: bytes
    """a= ("rsa-sha256", "ed25519-sha256")."""
    key_name: str | None
    """`<s>._domainkey.<d>`; None when the signature was refused before any lookup."""
    refused: DkimResult | None


async def verify_dkim(
    message: bytes, resolver: Resolver, *, max_signatures: int = MAX_SIGNATURES
) -> list[DkimResult]:
    """One result per DKIM-Signature header field, top first, at most `max_signatures`;
    an empty list when the message is unsigned (RFC 8601: dkim=none)."""
    signatures = [
        _read_signature(index, value)
        for index, value in enumerate(signature_fields(message)[:max_signatures])
    ]
    if not signatures:
        return []
    names = sorted({s.key_name for s in signatures if s.key_name is not None})
    fetched = await asyncio.gather(*(_fetch_key(resolver, name) for name in names))
    keys = dict(zip(names, fetched, strict=True))
    return await asyncio.to_thread(_verify_all, message, signatures, keys)


def signature_fields(message: bytes) -> list[bytes]:
    """The values of the DKIM-Signature header fields of `message`, top first (only the
    header is read; a header dkimpy cannot read has none)."""
    headers = header_fields(message)
    return [value for name, value in headers if name.lower() == b"dkim-signature"]


def header_fields(message: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields of `message` as dkimpy reads them; [] if it cannot."""
    end = _EMPTY_LINE.search(message)
    head = message if end is None else message[: end.start() + 1]
    try:
        headers, _ = dkim.rfc822_parse(head)
    except (dkim.DKIMException, IndexError):
        return []
    return [(bytes(name), bytes(value)) for name, value in headers]


def _read_signature(index: int, value: bytes) -> _Signature:
    try:
        tags = parse_tag_value(_WHITESPACE.sub(b" ", value))
    except InvalidTagValueList as error:
        tags = {}
        unreadable = f"unreadable signature: {printable(str(error))}"
    else:
        unreadable = ""
    domain = _ascii(tags.get(b"d", b"")).lower()
    selector = _ascii(tags.get(b"s", b""))
    b = _ascii(_WHITESPACE.sub(b"", tags.get(b"b", b"")))[:HEADER_B_LENGTH]
    algorithm = tags.get(b"a", b"")

    def refused(result: str, reason: str) -> _Signature:
        outcome = DkimResult(result, domain, selector, b, reason)
        return _Signature(index, domain, selector, b, algorithm, None, outcome)

    if unreadable:
        return refused("permerror", unreadable)
    try:
        dkim.validate_signature_fields(dict(tags))
    except dkim.ValidationError as error:
        text = str(error)
        if text.startswith("x= value is past"):
            # RFC 6376 §3.5 (dkimpy allows 10 hours for a signer's wrong clock).
            return refused("policy", "signature expired")
        return refused("permerror", f"bad signature: {printable(text)}")
    except (IndexError, ValueError, TypeError):
        return refused("permerror", "bad signature: unreadable tags")
    if algorithm == b"rsa-sha1":
        return refused("policy", "rsa-sha1 is not accepted (RFC 8301)")
    name = key_name(selector, domain)
    if name is None:
        return refused("permerror", "d= or s= is not a domain name")
    return _Signature(index, domain, selector, b, algorithm, name, None)


async def _fetch_key(resolver: Resolver, name: str) -> bytes | DkimResult:
    """The key record at `name`, or the result its absence gives every signature."""
    try:
        records = await resolver.txt(name)
    except DnsTemporaryError as error:
        return DkimResult("temperror", "", "", "", f"key lookup failed: {error}")
    if not records:
        return DkimResult("permerror", "", "", "", f"no key published at {name}")
    # RFC 6376 §3.6.2.2: several records is a misconfiguration; the first one that
    # reads as a key is what most verifiers use.
    for record in records:
        if b"p=" in record:
            return record
    return records[0]


def _verify_all(
    message: bytes, signatures: list[_Signature], keys: dict[str, bytes | DkimResult]
) -> list[DkimResult]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        key = keys.get(name.decode("ascii", "replace").rstrip(".").lower())
        return key if isinstance(key, bytes) else None

    try:
        verifier = dkim.DKIM(message, minkey=1024)
    except (dkim.DKIMException, IndexError):
        verifier = None
    results = []
    for signature in signatures:
        results.append(_verify_one(verifier, signature, keys, dnsfunc))
    return results


def _verify_one(
    verifier: dkim.DKIM | None,
    signature: _Signature,
    keys: dict[str, bytes | DkimResult],
    dnsfunc: TxtLookup,
) -> DkimResult:
    if signature.refused is not None:
        return signature.refused

    def result(name: str, reason: str) -> DkimResult:
        return DkimResult(name, signature.domain, signature.selector, signature.signature_b, reason)

    assert signature.key_name is not None
    key = keys[signature.key_name]
    if isinstance(key, DkimResult):
        return result(key.result, key.reason)
    problem = _key_problem(signature, key)
    if problem is not None:
        return result("permerror", problem)
    if verifier is None:
        return result("permerror", "the message header cannot be read")
    try:
        valid = verifier.verify(idx=signature.index, dnsfunc=dnsfunc)
    except dkim.KeyFormatError as error:
        if "too small" in str(error):
            return result("policy", "key shorter than 1024 bits (RFC 8301)")
        return result("permerror", f"bad key: {printable(str(error))}")
    except dkim.ValidationError as error:
        # The body hash mismatch is dkimpy's only ValidationError past the tag checks.
        return result("fail", printable(str(error)).split(" (")[0])
    except (dkim.DKIMException, IndexError, ValueError, TypeError) as error:
        return result("permerror", f"cannot verify: {printable(str(error))}")
    if valid:
        return result("pass", "good signature")
    return result("fail", "signature did not verify")


def _key_problem(signature: _Signature, record: bytes) -> str | None:
    """What makes the key record unusable for this signature (RFC 6376 §6.1.2), if any."""
    try:
        tags = parse_tag_value(_WHITESPACE.sub(b"", record))
    except InvalidTagValueList:
        return "unreadable key record"
    if tags.get(b"v", b"DKIM1") != b"DKIM1":
        return "key record is not v=DKIM1"
    if b"p" not in tags:
        return "key record has no p="
    if not tags[b"p"]:
        return "key revoked (empty p=)"
    key_type = tags.get(b"k", b"rsa")
    if key_type not in (b"rsa", b"ed25519"):
        return f"unknown key type k={_ascii(key_type)}"
    if not signature.algorithm.startswith(key_type + b"-"):
        algorithm = _ascii(signature.algorithm)
        return f"a={algorithm} does not match the key type k={_ascii(key_type)}"
    try:
        dkim.evaluate_pk(signature.key_name, record)
    except (dkim.DKIMException, ValueError, TypeError) as error:
        return f"bad key: {printable(str(error))}"
    return None


def key_name(selector: str, domain: str) -> str | None:
    """`<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1), or None when that is no
    domain name (a label empty, too long or with odd characters; the name too long)."""
    name = f"{selector}._domainkey.{domain}".lower()  # DNS names ignore case
    if len(name) > MAX_NAME_LENGTH:
        return None
    if not all(_LABEL.match(label.encode("ascii", "replace")) for label in name.split(".")):
        return None
    return name


def _ascii(value: bytes) -> str:
    return value.decode("ascii", "replace")


def printable(text: str) -> str:
    """Error text safe for a log line or a header comment: no control characters, short."""
    cleaned = "".join(c if c.isprintable() and c not in "()\\" else "?" for c in text)
    return cleaned[:200]
