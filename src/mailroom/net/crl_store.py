"""The CRLs of the client-certificate CAs (RFC 5280 §5): read from the configured files,
read again whenever a file changes, and — where allowed — fetched from a certificate's
distribution point when no current one is known.

Every CRL is kept only if its signature verifies with the key of a CA in the bundle
whose name is its issuer; for an issuer, the newest CRL (by thisUpdate) from any source
decides. A CRL is current until its nextUpdate; one past it still counts its
revocations (a revoked certificate stays revoked) but no longer vouches for the others.

Fetching is bounded (`crl_fetch`), coalesced (one request per URL at a time, whoever
asks), cached until the CRL's nextUpdate — in memory, and in a file per URL under the
data directory, so a restart neither fetches again nor, with the CA's server down,
forgets the revocations it knew — and after a failure not tried again from that URL for
`fetch_retry_seconds`, so a flood of logins cannot flood the CA.
Delta CRLs and partitioned (issuing distribution point) CRLs are not used. The URLs
fetched are only those of certificates whose chain OpenSSL has verified to a CA of the
bundle (the CA wrote them), and only `http://` ones; names are resolved by the system's
resolver (`net` may not use `mailroom.dns`).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mailroom.net.crl_fetch import CrlFetchError, CrlUrl, fetch_crl, parse_crl_url

log = logging.getLogger("mailroom.net")

MAX_CRL_FILE_BYTES = 512 * 1024 * 1024
"""A configured CRL file larger than this is refused (a mistake, not a CRL)."""
MAX_FETCHED_URLS = 64
"""Distribution points remembered at once (the CA bundle's issuers publish a few)."""
CLOCK_SKEW = datetime.timedelta(minutes=5)
"""A CRL whose thisUpdate is this little in the future is taken as current."""
_PEM_CRL = b"-----BEGIN X509 CRL-----"
_MISSING = (-1, -1, -1, -1)

Crl = x509.CertificateRevocationList


@dataclass(frozen=True)
class FetchSettings:
    timeout_seconds: float
    max_size: int
    retry_seconds: float
    cache_directory: Path | None = None
    """Where fetched CRLs are kept across restarts (one file per URL)."""


@dataclass
class _FileState:
    path: Path
    seen: tuple[int, int, int, int] | None = None
    """(inode, size, mtime_ns, ctime_ns) when last read."""
    crls: tuple[tuple[bytes, Crl], ...] = ()
    """(issuing CA's fingerprint, CRL)."""


@dataclass
class _Fetched:
    cache_read: bool = False
    crl: tuple[bytes, Crl] | None = None
    failed_at: float | None = None
    task: asyncio.Task[None] | None = None


def fingerprint(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


def parse_crls(data: bytes) -> list[Crl]:
    """The CRLs of one file: DER, or one or more PEM blocks, each with an issuer name
    that can be read (every use of a CRL compares it). ValueError if none."""
    try:
        if _PEM_CRL not in data:
            crls = [x509.load_der_x509_crl(data)]
        else:
            crls = [x509.load_pem_x509_crl(_PEM_CRL + block) for block in data.split(_PEM_CRL)[1:]]
        for crl in crls:
            _ = crl.issuer  # read lazily: TypeError for attributes cryptography refuses
    except (x509.InvalidVersion, TypeError) as error:  # cryptography's, not ValueErrors
        raise ValueError(f"not a CRL: {error}") from None
    return crls


def is_current(crl: Crl, now: datetime.datetime) -> bool:
    """RFC 5280 §5.1.2.4-5: issued (allowing for skew) and not past its nextUpdate."""
    if crl.last_update_utc > now + CLOCK_SKEW:
        return False
    next_update = crl.next_update_utc
    return next_update is None or now <= next_update


class CrlStore:
    """CRLs of the CAs in `authorities`, by issuing CA."""

    def __init__(
        self,
        files: list[Path],
        authorities: list[x509.Certificate],
        *,
        fetch: FetchSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._files = [_FileState(path) for path in files]
        self._authorities = list(authorities)
        self._fetch = fetch
        self._clock = clock
        self._fetched: dict[str, _Fetched] = {}
        self._reading: asyncio.Lock | None = None

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)

    async def crl_for(self, issuer: x509.Certificate, urls: list[str]) -> Crl | None:
        """The newest CRL of `issuer` known, after reading changed files and, if it is
        not current, fetching from `urls` (the certificate's distribution points)."""
        await self.refresh_files()
        key = fingerprint(issuer)
        best = self._newest(key)
        if best is not None and is_current(best, self.now()):
            return best
        if self._fetch is not None:
            for text in urls:
                await self._fetch_from(text, issuer, key)
                best = self._newest(key)
                if best is not None and is_current(best, self.now()):
                    break
        return best

    def _newest(self, key: bytes) -> Crl | None:
        found = [crl for state in self._files for owner, crl in state.crls if owner == key]
        found += [
            entry.crl[1]
            for entry in self._fetched.values()
            if entry.crl is not None and entry.crl[0] == key
        ]
        return max(found, key=lambda crl: crl.last_update_utc, default=None)

    # -- files -------------------------------------------------------------------------

    async def refresh_files(self) -> None:
        """Read every file whose inode, size or times changed since it was last read."""
        if self._reading is None:
            self._reading = asyncio.Lock()
        async with self._reading:
            for state in self._files:
                try:
                    stat = os.stat(state.path)
                except OSError as error:
                    if state.seen != _MISSING:  # said once, not at every login
                        log.error("CRL file %s cannot be read: %s", state.path, error.strerror)
                        state.seen = _MISSING
                    continue
                seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
                if seen == state.seen:
                    continue
                state.seen = seen
                await asyncio.to_thread(self._read_file, state, stat.st_size)

    def _read_file(self, state: _FileState, size: int) -> None:
        """Parse one file; on any error keep what it held before (fail closed: a broken
        new file must not undo revocations) and log why."""
        if size > MAX_CRL_FILE_BYTES:
            log.error("CRL file %s is larger than %d bytes: ignored", state.path, size)
            return
        try:
            crls = parse_crls(state.path.read_bytes())
        except (OSError, ValueError) as error:
            log.error(
                "CRL file %s is not a CRL (%s): keeping what it held before", state.path, error
            )
            return
        kept = []
        for crl in crls:
            key = self._signer(crl)
            if key is None:
                log.error(
                    "CRL file %s: the CRL of %s is not signed by a CA of ca_file: ignored",
                    state.path,
                    crl.issuer.rfc4514_string(),
                )
                continue
            kept.append((key, crl))
        state.crls = tuple(kept)
        log.info("CRL file %s read: %d CRL(s)", state.path, len(kept))

    def _signer(self, crl: Crl) -> bytes | None:
        """The fingerprint of the CA in the bundle that signed `crl`."""
        for authority in self._authorities:
            if authority.subject != crl.issuer:
                continue
            try:
                signed = crl.is_signature_valid(authority.public_key())  # type: ignore[arg-type]
            except TypeError:  # a key type that cannot sign CRLs
                continue
            if signed:
                return fingerprint(authority)
        return None

    # -- distribution points -------------------------------------------------------------

    async def _fetch_from(self, text: str, issuer: x509.Certificate, key: bytes) -> None:
        try:
            url = parse_crl_url(text)
        except CrlFetchError:
            return  # ldap://, https:// ...: not ours to fetch
        name = str(url)
        entry = self._fetched.get(name)
        if entry is None:
            if len(self._fetched) >= MAX_FETCHED_URLS:
                self._fetched.pop(next(iter(self._fetched)))
            entry = self._fetched[name] = _Fetched()
        if not entry.cache_read:
            entry.cache_read = True
            await asyncio.to_thread(self._read_cached, name, entry, issuer, key)
        if entry.crl is not None and is_current(entry.crl[1], self.now()):
            return
        assert self._fetch is not None
        if entry.failed_at is not None and (
            self._clock() - entry.failed_at < self._fetch.retry_seconds
        ):
            return
        if entry.task is None:
            entry.task = asyncio.create_task(self._download(url, entry, issuer, key))
        await asyncio.shield(entry.task)

    async def _download(
        self, url: CrlUrl, entry: _Fetched, issuer: x509.Certificate, key: bytes
    ) -> None:
        assert self._fetch is not None
        try:
            data = await fetch_crl(
                url, time_limit=self._fetch.timeout_seconds, max_body=self._fetch.max_size
            )
            crl = parse_crls(data)[0]
            if crl.issuer != issuer.subject or not crl.is_signature_valid(
                issuer.public_key()  # type: ignore[arg-type]
            ):
                raise CrlFetchError(f"it is not a CRL signed by {issuer.subject.rfc4514_string()}")
        except (CrlFetchError, ValueError, TypeError) as error:
            entry.failed_at = self._clock()
            log.warning("CRL from %s not fetched: %s", url, error)
        else:
            entry.crl = (key, crl)
            entry.failed_at = None
            await asyncio.to_thread(self._write_cached, str(url), data)
            log.info(
                "CRL of %s fetched from %s (next update %s)",
                issuer.subject.rfc4514_string(),
                url,
                crl.next_update_utc.isoformat() if crl.next_update_utc else "none",
            )
        finally:
            entry.task = None

    # -- the cache of fetched CRLs ---------------------------------------------------------

    def _cache_file(self, url: str) -> Path | None:
        assert self._fetch is not None
        directory = self._fetch.cache_directory
        if directory is None:
            return None
        return directory / (hashlib.sha256(url.encode()).hexdigest()[:40] + ".crl")

    def _read_cached(self, url: str, entry: _Fetched, issuer: x509.Certificate, key: bytes) -> None:
        """What an earlier run fetched from `url`, if it is still the issuer's CRL."""
        path = self._cache_file(url)
        if path is None:
            return
        try:
            if path.stat().st_size > self._fetch_limit():
                return
            crl = parse_crls(path.read_bytes())[0]
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            log.warning("cached CRL %s of %s unusable: %s", path, url, error)
            return
        try:
            signed = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        except TypeError:
            return
        if crl.issuer == issuer.subject and signed:
            entry.crl = (key, crl)

    def _write_cached(self, url: str, data: bytes) -> None:
        path = self._cache_file(url)
        if path is None:
            return
        scratch = path.with_suffix(".new")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch.write_bytes(data)
            scratch.replace(path)
        except OSError as error:
            log.warning("CRL from %s not kept in %s: %s", url, path.parent, error.strerror)

    def _fetch_limit(self) -> int:
        assert self._fetch is not None
        return self._fetch.max_size
