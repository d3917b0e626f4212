"""MTA-STS policies of recipient domains: looked up, fetched and cached (RFC 8461 §3, §5).

For a domain: the `_mta-sts.<domain>` TXT record gives the policy's id; a cached
policy with that id, not older than its max_age, is used as it is; otherwise the
policy is fetched from `https://mta-sts.<domain>/.well-known/mta-sts.txt` (address
through Mailroom's own DNS servers, port `[delivery] mta_sts_port`, certificate
verified) and cached. When the record or the fetch fails, a cached policy still
within its max_age is used (§3.3, §5.1), so an attacker who blocks DNS or HTTPS
cannot switch enforcement off for a domain that had it; without one, there is no
policy. The cache is one JSON file per domain under `<data_dir>/mta-sts/`, written
atomically, and also kept in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailroom.delivery.https_get import FetchError, https_get
from mailroom.delivery.mta_sts import (
    MAX_POLICY_BYTES,
    MtaStsError,
    Policy,
    parse_policy,
    parse_sts_record,
)
from mailroom.delivery.mx import MxLookupError, resolve_addresses
from mailroom.dns import DnsTemporaryError, Resolver

log = logging.getLogger("mailroom.delivery")

POLICY_PATH = "/.well-known/mta-sts.txt"
_SAFE_DOMAIN = re.compile(r"[a-z0-9.-]{1,253}")


@dataclass(frozen=True)
class CachedPolicy:
    policy_id: str
    fetched_at: float
    body: bytes
    policy: Policy

    def fresh(self, now: float) -> bool:
        return now < self.fetched_at + self.policy.max_age


class MtaStsPolicies:
    def __init__(
        self,
        resolver: Resolver,
        cache_directory: Path,
        tls: ssl.SSLContext,
        *,
        port: int = 443,
        fetch_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolver = resolver
        self._directory = cache_directory
        self._tls = tls
        self._port = port
        self._fetch_seconds = fetch_seconds
        self._clock = clock
        self._memory: dict[str, CachedPolicy] = {}

    async def policy(self, domain: str) -> Policy | None:
        """The policy that holds for mail to `domain` now, or None."""
        domain = domain.rstrip(".").lower()
        if not _SAFE_DOMAIN.fullmatch(domain):
            return None
        cached = self._memory.get(domain) or await asyncio.to_thread(self._read, domain)
        now = self._clock()
        usable = cached if cached is not None and cached.fresh(now) else None
        policy_id = await self._record_id(domain)
        if policy_id is None or (usable is not None and usable.policy_id == policy_id):
            return None if usable is None else usable.policy
        try:
            body = await self._fetch(domain)
            policy = parse_policy(body)
        except (FetchError, MtaStsError, MxLookupError) as error:
            log.warning("MTA-STS policy of %s could not be fetched: %s", domain, error)
            return None if usable is None else usable.policy
        fresh = CachedPolicy(policy_id, now, body, policy)
        self._memory[domain] = fresh
        try:
            await asyncio.to_thread(self._write, domain, fresh)
        except OSError as error:
            log.warning("MTA-STS policy of %s not cached on disk: %s", domain, error)
        log.info("MTA-STS policy of %s: id %s, mode %s", domain, policy_id, policy.mode.value)
        return policy

    async def _record_id(self, domain: str) -> str | None:
        try:
            records = await self._resolver.txt(f"_mta-sts.{domain}")
        except DnsTemporaryError:
            return None  # DNS failed: a cached policy still holds
        return parse_sts_record([text.decode("ascii", "replace") for text in records])

    async def _fetch(self, domain: str) -> bytes:
        host = f"mta-sts.{domain}"
        failure: Exception = FetchError(f"{host} has no address")
        for address in await resolve_addresses(self._resolver, host):
            try:
                response = await https_get(
                    address,
                    self._port,
                    host,
                    POLICY_PATH,
                    self._tls,
                    max_body=MAX_POLICY_BYTES,
                    seconds=self._fetch_seconds,
                )
            except FetchError as error:
                failure = error
                continue
            if response.status != 200:
                raise FetchError(f"https://{host}{POLICY_PATH} answered {response.status}")
            if response.media_type != "text/plain":
                raise FetchError(f"https://{host}{POLICY_PATH} is not text/plain")
            return response.body
        raise failure

    def _path(self, domain: str) -> Path:
        return self._directory / f"{domain}.json"

    def _read(self, domain: str) -> CachedPolicy | None:
        try:
            document = json.loads(self._path(domain).read_bytes())
            body = document["policy"].encode("utf-8")
            cached = CachedPolicy(
                str(document["id"]), float(document["fetched_at"]), body, parse_policy(body)
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # no cache, or one we cannot trust: as if none
        self._memory[domain] = cached
        return cached

    def _write(self, domain: str, cached: CachedPolicy) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        document = {
            "id": cached.policy_id,
            "fetched_at": cached.fetched_at,
            "policy": cached.body.decode("utf-8"),
        }
        temporary = self._path(domain).with_suffix(".tmp")
        temporary.write_text(json.dumps(document, sort_keys=True))
        os.replace(temporary, self._path(domain))
