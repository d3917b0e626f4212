"""DKIM signing keys and signatures (RFC 6376, Ed25519 per RFC 8463).

This room makes keys, keeps them on disk as `<directory>/<domain>.<selector>.key`, says
what to publish in DNS, and signs messages with dkimpy. It never looks anything up in
DNS and never decides *whether* a message should be signed: remote delivery asks for a
signature for the domain of the From: address, and gets none if that domain has no key.

Keys are stored as ordinary PEM (PKCS#1 for RSA, PKCS#8 for Ed25519) so that openssl and
other signers can read them; the form dkimpy wants (for Ed25519: the base64 32-byte seed)
is derived when a key is loaded. The algorithm of a stored key is read from the key
itself, so changing `[dkim] algorithm` never breaks signing with keys made earlier.

RSA signing costs about 8 ms of CPU (~125/s): `DkimSigner.sign_async` runs it in a
thread so that the event loop keeps serving while a big queue run signs.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailroom.config import DkimAlgorithm, dkim_selector

RSA_KEY_BITS = 2048
"""RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use 2048."""

# Headers signed when present (RFC 6376 §5.4.1's recommended set, less what lists and
# forwarders rewrite). Each occurrence is signed; From is signed once more than it occurs
# ("over-signing", RFC 6376 §8.15) so that a second From: added later breaks the signature.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"reply-to",
)
OVERSIGNED_HEADERS = (b"from",)

# RFC 1035 §3.3.14: one <character-string> of a TXT record holds at most 255 octets.
TXT_STRING_LIMIT = 255


# The a= tag of a signature made with each key type.
SIGNATURE_ALGORITHMS = {
    DkimAlgorithm.RSA: b"rsa-sha256",  # RFC 8301 §3.1: rsa-sha1 MUST NOT be used to sign
    DkimAlgorithm.ED25519: b"ed25519-sha256",  # RFC 8463 §3
}


class DkimError(Exception):
    """A key that cannot be made, stored, read or used; the message says what to do."""


class DkimKeyExists(DkimError):
    """A key is already stored for this domain and selector (and replacing was not asked)."""


def normalize_selector(text: str) -> str:
    """`Mail` -> `mail`; refuse what cannot be a DNS name before `._domainkey.`."""
    try:
        return dkim_selector(text)
    except ValueError as error:
        raise DkimError(str(error)) from None


def generate_key(algorithm: DkimAlgorithm) -> bytes:
    """A new private key, as PEM."""
    if algorithm is DkimAlgorithm.RSA:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        # PKCS#1 ("BEGIN RSA PRIVATE KEY"): what opendkim and older dkimpy read.
        return rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return ed_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_algorithm(private_key_pem: bytes) -> DkimAlgorithm:
    """What kind of key a PEM holds; DkimError for anything else (or not a key at all)."""
    return _algorithm_of(_load_private_key(private_key_pem))


def dns_txt_record(private_key_pem: bytes, algorithm: DkimAlgorithm) -> str:
    """The TXT record to publish at `<selector>._domainkey.<domain>` (RFC 6376 §3.6.1)."""
    key = _load_private_key(private_key_pem)
    if _algorithm_of(key) is not algorithm:
        raise DkimError(f"the key is not an {algorithm.value} key")
    if isinstance(key, rsa.RSAPrivateKey):
        # p= is the base64 DER SubjectPublicKeyInfo, as opendkim and dkimpy publish it.
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        # RFC 8463 §4.2: p= is the base64 of the raw 32-byte public key, no ASN.1 around it.
        public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return f"v=DKIM1; k={algorithm.value}; p={base64.b64encode(public).decode('ascii')}"


def record_name(selector: str, domain: str) -> str:
    """RFC 6376 §3.6.2.1: where verifiers look for the key, as a fully qualified name."""
    return f"{selector}._domainkey.{domain}."


def txt_character_strings(record: str) -> list[str]:
    """The record cut into pieces of at most 255 octets; verifiers join them again
    (RFC 6376 §3.6.2.2). The record is ASCII, so characters are octets."""
    return [
        record[start : start + TXT_STRING_LIMIT]
        for start in range(0, len(record), TXT_STRING_LIMIT)
    ] or [""]


def zone_file_line(selector: str, domain: str, record: str) -> str:
    """The record as one zone-file line: `mail._domainkey.example.org. IN TXT "..." "..."`."""
    strings = " ".join(f'"{piece}"' for piece in txt_character_strings(record))
    return f"{record_name(selector, domain)} IN TXT {strings}"


@dataclass(frozen=True)
class DkimKey:
    """One domain's signing key for one selector."""

    domain: str
    selector: str
    algorithm: DkimAlgorithm
    private_key_pem: bytes

    @property
    def dns_txt_record(self) -> str:
        return dns_txt_record(self.private_key_pem, self.algorithm)

    @property
    def zone_file_line(self) -> str:
        return zone_file_line(self.selector, self.domain, self.dns_txt_record)

    @property
    def dkimpy_private_key(self) -> bytes:
        """The key in the form `dkim.sign` takes for this algorithm."""
        if self.algorithm is DkimAlgorithm.RSA:
            return self.private_key_pem
        key = _load_private_key(self.private_key_pem)
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        # dkimpy hands this to nacl.signing.SigningKey(..., encoder=Base64Encoder).
        return base64.b64encode(seed)


class DkimKeys:
    """The key directory: `<directory>/<domain>.<selector>.key`, readable by us alone.

    Domains are expected already normalised (`mailroom.directory.normalize_domain`)."""

    def __init__(self, directory: Path, selector: str) -> None:
        self.directory = directory
        self.selector = normalize_selector(selector)

    def path(self, domain: str) -> Path:
        # No part trusts another's input: a name that could leave the directory is refused.
        if not domain or "/" in domain or "\0" in domain or domain.startswith("."):
            raise DkimError(f"{domain!r} is not a domain name")
        return self.directory / f"{domain}.{self.selector}.key"

    def create(self, domain: str, algorithm: DkimAlgorithm, *, replace: bool = False) -> DkimKey:
        """Make and store a new key; DkimKeyExists if one is there and `replace` is false.

        A published key that is silently replaced makes every signature fail until DNS
        is updated, so replacing must be asked for."""
        path = self.path(domain)
        if path.exists() and not replace:
            raise DkimKeyExists(
                f"a DKIM key for {domain} with selector {self.selector!r} exists already "
                f"({path}); use --force to replace it"
            )
        pem = generate_key(algorithm)
        self._make_directory()
        # Written beside the target and renamed: a crash leaves the old key or the new one.
        temporary = self.directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            if not replace and path.exists():
                raise DkimKeyExists(f"a DKIM key for {domain} appeared meanwhile ({path})")
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return DkimKey(domain, self.selector, algorithm, pem)

    def load(self, domain: str) -> DkimKey | None:
        """The stored key of `domain`, or None if it has none."""
        path = self.path(domain)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise DkimError(f"cannot read the DKIM key {path}: {error.strerror}") from None
        try:
            algorithm = key_algorithm(pem)
        except DkimError as error:
            raise DkimError(f"{path}: {error}") from None
        return DkimKey(domain, self.selector, algorithm, pem)

    def _make_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.directory.chmod(0o700)  # mkdir's mode is filtered through the umask


class DkimSigner:
    """Signs outgoing messages with the key of the signing domain, if it has one.

    `sign` returns None for a domain without a key: not having DKIM for a domain is a
    choice of the operator, not an error, and the message goes out unsigned."""

    def __init__(self, keys: DkimKeys) -> None:
        self.keys = keys
        self._cache: dict[str, tuple[int, DkimKey]] = {}

    def sign(self, message: bytes, domain: str) -> bytes | None:
        """The `DKIM-Signature: ...\\r\\n` header to put before `message`, or None if
        `domain` has no key. Blocks for milliseconds with RSA: see `sign_async`."""
        key = self._key(domain)
        if key is None:
            return None
        signer = dkim.DKIM(message, signature_algorithm=SIGNATURE_ALGORITHMS[key.algorithm])
        present = [name for name, _ in signer.headers if name.lower() in SIGNED_HEADERS]
        if not any(name.lower() == b"from" for name in present):
            # RFC 6376 §5.4: From MUST be signed, so a message without one cannot be.
            raise DkimError("the message has no From: header field to sign")
        include = present + [name for name in present if name.lower() in OVERSIGNED_HEADERS]
        try:
            header: bytes = signer.sign(
                key.selector.encode("ascii"),
                domain.encode("ascii"),
                key.dkimpy_private_key,
                # relaxed/relaxed survives the re-folding and whitespace changes of relays.
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=include,
            )
        except dkim.DKIMException as error:
            raise DkimError(f"cannot sign for {domain}: {error}") from None
        return header

    async def sign_async(self, message: bytes, domain: str) -> bytes | None:
        """`sign` in a worker thread, off the event loop."""
        return await asyncio.to_thread(self.sign, message, domain)

    def _key(self, domain: str) -> DkimKey | None:
        # A key replaced with `mailroom dkim keygen --force` is picked up without restart.
        try:
            stamp = self.keys.path(domain).stat().st_mtime_ns
        except FileNotFoundError:
            self._cache.pop(domain, None)
            return None
        cached = self._cache.get(domain)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = self.keys.load(domain)
        if key is None:
            return None
        self._cache[domain] = (stamp, key)
        return key


def _load_private_key(
    pem: bytes,
) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise DkimError("not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise DkimError("DKIM keys are RSA or Ed25519 (RFC 6376, RFC 8463)")


def _algorithm_of(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> DkimAlgorithm:
    return DkimAlgorithm.RSA if isinstance(key, rsa.RSAPrivateKey) else DkimAlgorithm.ED25519
