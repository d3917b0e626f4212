"""The Sender Rewriting Scheme (SRS): forwarding mail without breaking SPF.

When we forward a member's mail to an outside mailbox, the reverse path must
be an address in *our* domain, or the receiving host's SPF check of the
original sender's domain fails. SRS rewrites the sender into an address of
ours that encodes the original one, signed so that nobody can use us as an
open bounce relay, and dated so that old addresses stop working.

The format is that of libsrs2 and postsrsd (default separator `=`, hash
length 4), so addresses minted by a postsrsd on the legacy host, with the
same secret, still reverse here during a migration, and vice versa.

SRS0, first forwarding. `alice@example.com` forwarded by `fwd.example.org`::

    SRS0=HHHH=TT=example.com=alice@fwd.example.org

- `TT`: the day number (Unix time // 86400) modulo 1024, in two base32
  characters (`ABCDEFGHIJKLMNOPQRSTUVWXYZ234567`), high five bits first.
  Day 20000 → 20000 % 1024 = 544 = 17·32 + 0 → `RA`.
- `HHHH`: the first four characters of the standard base64 of
  HMAC-SHA1(secret, lower(TT) + lower(domain) + lower(local)), the three
  concatenated with nothing between them, lower-cased in ASCII only (as
  libsrs2's `srs_hash_create` does). Compared case-insensitively on the way
  back, because some MTAs fold the case of local parts.

SRS1, re-forwarding an SRS0 address `SRS0=HHHH=TT=example.com=alice@fwd1.example`
by `fwd2.example`: the address is not nested again but points straight back
at the first forwarder, with a hash over (fwd1 host, the rest after "SRS0")::

    SRS1=GGGG=fwd1.example==HHHH=TT=example.com=alice@fwd2.example

Reversing an SRS1 address gives `SRS0=HHHH=TT=example.com=alice@fwd1.example`,
which the first forwarder reverses in turn. Re-forwarding an SRS1 address
keeps its first-forwarder part and only re-signs it.

What `reverse` does not check: the domain of the address (routing calls it
only for our own domains, and several may share one secret). Like postsrsd,
`forward` leaves alone the null sender, addresses with no `@`, and addresses
already in our domain; it also leaves alone a domain that contains `=` (no
real domain does, and it could not be reversed). An SRS address may exceed
the 64-octet local-part limit of RFC 5321 §4.5.3.1.1; so do postsrsd's, and
receivers accept them in practice.

Why hand-written: PyPI offers `pysrs` 1.0.3 (last release 2018, Python 2
era, from pymilter) and `srslib` 0.1.5 (2024, a small one-author 0.x
package); neither is a maintained library we would want on the bounce path,
and the scheme is ~150 lines over the standard library's hmac and base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence

SRS_SEPARATORS = "=+-"
"""What may follow the SRS0/SRS1 tag (libsrs2's `srs_separators`); we write `=`."""
HASH_LENGTH = 4
TIME_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TIME_SLOTS = 1024
"""Two base32 characters: the day number wraps every 1024 days (~2.8 years)."""
SECONDS_PER_DAY = 86400


class SrsError(ValueError):
    """An address could not be reversed; subclasses say why."""


class NotSrsAddress(SrsError):
    """The address is not an SRS address at all."""


class MalformedSrsAddress(SrsError):
    """It starts like an SRS address but a part is missing or invalid."""


class SrsHashMismatch(SrsError):
    """The hash does not match under any of our secrets: forged or another forwarder's."""


class SrsExpired(SrsError):
    """Older than the maximum age (or from the future, which libsrs2 counts as old)."""


def _split_address(address: str) -> tuple[str, str] | None:
    # The last @ separates the domain: a quoted local part may hold an @ itself.
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    return local, domain


def _srs_tag(local: str) -> str | None:
    """ "SRS0" or "SRS1" when `local` starts with that tag and a separator (any case)."""
    if len(local) >= 5 and local[4] in SRS_SEPARATORS:
        tag = local[:4].upper()
        if tag in ("SRS0", "SRS1"):
            return tag
    return None


def encode_day(day: int) -> str:
    """The two-character base32 timestamp for a day number."""
    slot = day % TIME_SLOTS
    return TIME_BASE32[(slot >> 5) & 31] + TIME_BASE32[slot & 31]


def decode_day(stamp: str) -> int | None:
    """The day slot (0..1023) of a timestamp, or None if it is not two base32 characters."""
    if len(stamp) != 2:
        return None
    high = TIME_BASE32.find(stamp[0].upper())
    low = TIME_BASE32.find(stamp[1].upper())
    if high < 0 or low < 0:
        return None
    return high << 5 | low


def _octets(text: str) -> bytes:
    """The bytes of an address as it travelled: raw bytes kept by surrogateescape
    come back as themselves, and any other lone surrogate still hashes."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def srs_hash(secret: bytes, *parts: str) -> str:
    """The first four base64 characters of HMAC-SHA1 over the lower-cased parts."""
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    for part in parts:
        # bytes.lower() folds ASCII only, as C's tolower() does in libsrs2.
        mac.update(_octets(part).lower())
    return base64.b64encode(mac.digest()).decode("ascii")[:HASH_LENGTH]


class SrsRewriter:
    """Forward and reverse SRS addresses for one forwarding domain."""

    def __init__(
        self,
        secrets: Sequence[bytes],
        domain: str,
        *,
        clock: Callable[[], float],
        max_age_days: int = 21,
    ) -> None:
        """`secrets[0]` signs; every secret verifies, so a new key can be
        put first while addresses signed with the old one still come back.
        `clock` returns Unix time in seconds (`time.time` in production)."""
        if not secrets or not all(secrets):
            raise ValueError("SRS needs at least one secret, and no secret may be empty")
        if not domain or "@" in domain or "=" in domain:
            raise ValueError(f"SRS domain {domain!r} is not a domain name")
        if not 0 < max_age_days < TIME_SLOTS:
            raise ValueError(f"max_age_days must be between 1 and {TIME_SLOTS - 1}")
        self.secrets = tuple(secrets)
        self.domain = domain
        self.max_age_days = max_age_days
        self.clock = clock

    def _today(self) -> int:
        return int(self.clock() // SECONDS_PER_DAY)

    def is_srs(self, address: str) -> bool:
        """Whether the local part starts with an SRS0/SRS1 tag (it may still be forged)."""
        parts = _split_address(address)
        return parts is not None and _srs_tag(parts[0]) is not None

    def forward(self, sender: str) -> str:
        """The reverse path to use when forwarding mail from `sender`."""
        parts = _split_address(sender)
        if parts is None:
            return sender  # the null sender <>, or an unqualified name: nothing to protect
        local, domain = parts
        if domain.lower() == self.domain.lower() or "=" in domain:
            return sender
        tag = _srs_tag(local)
        if tag == "SRS0":
            # libsrs2 srs_compile_guarded: the rest keeps its own separator.
            rest = local[4:]
            return self._srs1(domain, rest)
        if tag == "SRS1":
            first_forwarder, sep, rest = local[5:].partition("=")[2].partition("=")
            if sep and first_forwarder and rest:
                return self._srs1(first_forwarder, rest)
            # Not a well-formed SRS1 address: wrap it like any other sender.
        stamp = encode_day(self._today())
        digest = srs_hash(self.secrets[0], stamp, domain, local)
        return f"SRS0={digest}={stamp}={domain}={local}@{self.domain}"

    def _srs1(self, first_forwarder: str, rest: str) -> str:
        digest = srs_hash(self.secrets[0], first_forwarder, rest)
        return f"SRS1={digest}={first_forwarder}={rest}@{self.domain}"

    def reverse(self, address: str) -> str:
        """The address to send a bounce for `address` to; SrsError if it is not ours to undo."""
        parts = _split_address(address)
        if parts is None:
            raise NotSrsAddress(f"{address!r} is not an SRS address")
        local = parts[0]
        tag = _srs_tag(local)
        if tag is None:
            raise NotSrsAddress(f"{address!r} is not an SRS address")
        fields = local[5:].split("=", 3 if tag == "SRS0" else 2)
        if tag == "SRS1":
            if len(fields) != 3 or not all(fields):
                raise MalformedSrsAddress(f"{address!r}: SRS1 needs hash=host=rest")
            digest, first_forwarder, rest = fields
            self._check_hash(address, digest, first_forwarder, rest)
            return f"SRS0{rest}@{first_forwarder}"
        if len(fields) != 4 or not all(fields):
            raise MalformedSrsAddress(f"{address!r}: SRS0 needs hash=stamp=domain=local")
        digest, stamp, domain, original_local = fields
        day = decode_day(stamp)
        if day is None:
            raise MalformedSrsAddress(f"{address!r}: {stamp!r} is not an SRS timestamp")
        # The hash first: a forged address learns nothing from a timestamp verdict.
        self._check_hash(address, digest, stamp, domain, original_local)
        self._check_age(address, day)
        return f"{original_local}@{domain}"

    def _check_hash(self, address: str, digest: str, *parts: str) -> None:
        if len(digest) != HASH_LENGTH:
            raise SrsHashMismatch(f"{address!r}: hash {digest!r} is not {HASH_LENGTH} characters")
        wanted = digest.lower()
        for secret in self.secrets:
            # compare_digest on ASCII-lowered text: case-insensitive and constant-time.
            candidate = srs_hash(secret, *parts).lower()
            if wanted.isascii() and hmac.compare_digest(candidate, wanted):
                return
        raise SrsHashMismatch(f"{address!r}: hash does not match")

    def _check_age(self, address: str, then: int) -> None:
        # libsrs2 srs_timestamp_check: the slot wraps every 1024 days, so a
        # slot "after" today is taken as one from the previous cycle.
        now = self._today() % TIME_SLOTS
        if now < then:
            now += TIME_SLOTS
        if now > then + self.max_age_days:
            raise SrsExpired(
                f"{address!r}: signed {now - then} days ago, older than {self.max_age_days}"
            )
