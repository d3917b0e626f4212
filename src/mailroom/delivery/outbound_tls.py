"""TLS for mail leaving this host: the policy (Postfix's `may` and `encrypt`) and the two
kinds of context, one that verifies certificates and one that only encrypts.

"opportunistic" (Postfix's `may`) does not verify certificates (an unauthenticated
encrypted session beats plain text, and MX certificates are often self-signed) and lets
the client fall back to plain text on the same address if the handshake fails;
"required" (Postfix's `encrypt`) defers rather than send in clear. Certificates are
verified (Postfix's `secure`: a trusted CA and the host's name), with no fallback, for a
relay host we log in to, for the MX hosts of a domain whose MTA-STS policy says
`enforce`, and for fetching MTA-STS policies.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Literal

TlsPolicy = Literal["opportunistic", "required"]


def verified_tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Certificates checked against `ca_file` (default: the system's CAs) and the host's
    name (or address, for `[192.0.2.1]` next hops): Postfix's `secure` level. The
    system's context is made once per process and shared (loading its ~150 CAs costs
    ~60 ms of CPU): nothing may change it."""
    if ca_file is None:
        return _system_verified_tls_context()
    return _verified(ca_file)


@functools.cache
def _system_verified_tls_context() -> ssl.SSLContext:
    return _verified(None)


def _verified(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def opportunistic_tls_context() -> ssl.SSLContext:
    """Encryption without authentication (Postfix `may`/`encrypt`; RFC 7435 opportunistic
    security): an MX's certificate name is not something DNS without DNSSEC vouches for.
    The defaults of `ssl.create_default_context` but for its CA store, which a context
    that verifies nothing never reads."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
