"""ARC (RFC 8617): the chain of custody a forwarder adds, verified on received mail and
sealed onto mail we forward (an alias to an outside address, a Sieve redirect).

Verification: dkimpy's ARC verifier is synchronous and does its own DNS, so the keys of
every ARC-Seal and ARC-Message-Signature are fetched first through the host's resolver
(bounded: at most `MAX_INSTANCES` sets, RFC 8617 §4.2.1, and `MAX_KEYS` key lookups), and
dkimpy then runs in a worker thread on a `dnsfunc` answering from what was fetched. The
result is RFC 8617 §4.4's chain validation status: none, pass or fail.

Sealing (RFC 8617 §5.1): the ARC set is made by dkimpy's signer with the forwarding
domain's DKIM key (`DkimKeys`), from the Authentication-Results header our own reception
wrote (authserv-id = the host name; dkimpy copies its results into the
ARC-Authentication-Results and takes cv= from its arc= result). No such header means the
message did not come in through our port 25 and there is nothing to vouch for: no seal.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from mailroom.config import DkimAlgorithm
from mailroom.dns import DnsTemporaryError, Resolver
from mailroom.mailauth.dkim import OVERSIGNED_HEADERS, SIGNED_HEADERS, DkimError, DkimKeys
from mailroom.mailauth.dkim_verify import header_fields, key_name, printable

MAX_INSTANCES = 50
"""RFC 8617 §4.2.1: i= is at most 50; a longer chain fails."""
MAX_KEYS = 10
"""Distinct keys fetched for one chain (two a hop); a chain needing more fails."""

ARC_HEADERS = (b"arc-seal", b"arc-message-signature", b"arc-authentication-results")
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class ArcResult:
    """The chain validation status of a message (RFC 8617 §4.4)."""

    result: str
    """"none" (no ARC set), "pass" or "fail"."""
    instance: int
    """The highest i= (0 when there is no chain)."""
    reason: str
    """Why, for the log and the Authentication-Results comment."""


class ArcError(DkimError):
    """A seal that cannot be made; the message says why."""


async def verify_arc(message: bytes, resolver: Resolver) -> ArcResult:
    """The chain validation status of `message`'s ARC sets."""
    sets = _arc_fields(header_fields(message))
    if not sets:
        return ArcResult("none", 0, "no ARC sets")
    instance = max(i for i, _, _ in sets)
    problem = _structure_problem(sets, instance)
    if problem is not None:
        return ArcResult("fail", min(instance, MAX_INSTANCES), problem)
    names = sorted({name for _, _, tags in sets if (name := _key_name(tags)) is not None})
    if len(names) > MAX_KEYS:
        return ArcResult("fail", instance, f"the chain needs {len(names)} keys (limit {MAX_KEYS})")
    fetched = await asyncio.gather(*(_fetch_key(resolver, name) for name in names))
    keys = {name: record for name, record in zip(names, fetched, strict=True)}
    status, reason = await asyncio.to_thread(_verify_chain, message, keys)
    if status != "fail":
        return ArcResult(status, instance, reason)
    failed_lookups = [name for name, record in keys.items() if record is None]
    if failed_lookups:
        reason += f"; key lookup failed for {', '.join(failed_lookups)}"
    return ArcResult("fail", instance, reason)


def _arc_fields(headers: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes, dict[bytes, bytes]]]:
    """(i=, header name, tags) of each ARC header field; i= 0 for one without a
    readable i= (which fails the chain)."""
    found = []
    for name, value in headers:
        lowered = name.lower()
        if lowered not in ARC_HEADERS:
            continue
        if lowered == b"arc-authentication-results":
            # Not a tag list (RFC 8617 §4.1.1): "i=N; authserv-id; results".
            match = re.match(rb"\s*i\s*=\s*(\d{1,6})\s*;", value)
            tags = {b"i": match.group(1)} if match else {}
        else:
            try:
                tags = parse_tag_value(_WHITESPACE.sub(b" ", value))
            except InvalidTagValueList:
                tags = {}
        number = tags.get(b"i", b"")
        instance = int(number) if number.isdigit() and len(number) <= 6 else 0
        found.append((instance, lowered, tags))
    return found


def _structure_problem(sets: list[tuple[int, bytes, dict[bytes, bytes]]], top: int) -> str | None:
    """RFC 8617 §5.2 steps 1–3: what is wrong with the shape of the chain, if anything."""
    if top > MAX_INSTANCES:
        return f"i={top} is past the limit of {MAX_INSTANCES}"
    if any(instance == 0 for instance, _, _ in sets):
        return "an ARC header field without a valid i="
    for instance in range(1, top + 1):
        names = sorted(name for i, name, _ in sets if i == instance)
        if names != sorted(ARC_HEADERS):
            return f"ARC set {instance} is incomplete or repeated"
    seals = {i: tags for i, name, tags in sets if name == b"arc-seal"}
    if seals[top].get(b"cv") == b"fail":
        return f"ARC-Seal {top} says the chain failed before it (cv=fail)"
    return None


def _key_name(tags: dict[bytes, bytes]) -> str | None:
    selector = tags.get(b"s", b"").decode("ascii", "replace")
    domain = tags.get(b"d", b"").decode("ascii", "replace").lower()
    return key_name(selector, domain)


async def _fetch_key(resolver: Resolver, name: str) -> bytes | None:
    """The key record at `name`; b"" when none is published, None when the lookup failed."""
    try:
        records = await resolver.txt(name)
    except DnsTemporaryError:
        return None
    for record in records:
        if b"p=" in record:
            return record
    return records[0] if records else b""


def _verify_chain(message: bytes, keys: dict[str, bytes | None]) -> tuple[str, str]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        return keys.get(name.decode("ascii", "replace").rstrip(".").lower()) or None

    try:
        verifier = dkim.ARC(message, minkey=1024)
        status, _, reason = verifier.verify(dnsfunc=dnsfunc)
    except (dkim.DKIMException, IndexError, KeyError, ValueError, TypeError) as error:
        # dkimpy trips over some malformed sets with IndexError/KeyError: still a fail.
        return "fail", printable(str(error) or type(error).__name__)
    if status == dkim.CV_Pass:
        return "pass", "all ARC sets verified"
    if status == dkim.CV_None:
        return "none", printable(str(reason))
    return "fail", printable(str(reason))


class ArcSealer:
    """Seals forwarded mail with the forwarding domain's key, vouching for what our
    reception found (the Authentication-Results with our host name as authserv-id)."""

    def __init__(self, keys: DkimKeys, authserv_id: str) -> None:
        self.keys = keys
        self.authserv_id = authserv_id

    def seal(self, message: bytes, domain: str) -> bytes | None:
        """The ARC set to put before `message` (ARC-Seal, ARC-Message-Signature,
        ARC-Authentication-Results, each ending in CRLF), or None when `domain` has no
        key or the message carries no Authentication-Results of ours. ArcError when it
        cannot be sealed. Blocks for milliseconds (RSA): see `seal_async`."""
        key = self.keys.load(domain)
        if key is None:
            return None
        if key.algorithm is not DkimAlgorithm.RSA:
            # RFC 8617 §4.1.3 seals with DKIM's algorithms, but receivers (and dkimpy's
            # signer) know rsa-sha256 only.
            raise ArcError(f"the DKIM key of {domain} is {key.algorithm.value}; ARC needs RSA")
        sealer = dkim.ARC(message, signature_algorithm=b"rsa-sha256")
        # RFC 8617 §4.1.2: the AMS SHOULD cover the DKIM-Signatures already present.
        sealer.should_not_sign.discard(b"dkim-signature")
        signed = (*SIGNED_HEADERS, b"dkim-signature")
        present = [name for name, _ in sealer.headers if name.lower() in signed]
        if not any(name.lower() == b"from" for name in present):
            raise ArcError("the message has no From: header field to sign")
        include = present + [name for name in present if name.lower() in OVERSIGNED_HEADERS]
        try:
            fields: list[bytes] = sealer.sign(
                key.selector.encode("ascii"),
                domain.encode("ascii"),
                key.private_key_pem,
                self.authserv_id.encode("ascii"),
                include_headers=include,
            )
        except (dkim.DKIMException, UnicodeError) as error:
            raise ArcError(f"cannot seal for {domain}: {error}") from None
        return b"".join(fields) or None

    async def seal_async(self, message: bytes, domain: str) -> bytes | None:
        """`seal` in a worker thread, off the event loop."""
        return await asyncio.to_thread(self.seal, message, domain)
