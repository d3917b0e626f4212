"""Server TLS contexts: TLS 1.2 and newer only, one certificate per listener or the
default, re-read on demand (SIGHUP) without touching established connections."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from mailroom.config import Config, Listener

log = logging.getLogger("mailroom.net")


class CertificateError(Exception):
    """A certificate or key could not be loaded; the message names the files."""


def server_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """A server context with the certificate chain and key loaded; TLS >= 1.2."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_SINGLE_DH_USE | ssl.OP_SINGLE_ECDH_USE
    # Forward-secret AEAD suites only for TLS 1.2 (Mozilla "intermediate").
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20")
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as error:
        raise CertificateError(
            f"cannot load certificate {certificate} with key {key}: {error}"
        ) from None
    return context


class TlsContexts:
    """The current TLS context of each listener. `reload()` builds new contexts from the
    files; connections already established keep the one they started with."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._load_all()

    def _files(self, listener: Listener) -> tuple[Path, Path]:
        certificate = listener.certificate or self._config.tls.certificate
        key = listener.key or self._config.tls.key
        return self._config.resolve(certificate), self._config.resolve(key)

    def _load_all(self) -> None:
        loaded: dict[tuple[Path, Path], ssl.SSLContext] = {}
        contexts: dict[str, ssl.SSLContext] = {}
        for listener in self._config.listeners:
            files = self._files(listener)
            if files not in loaded:
                loaded[files] = server_context(*files)
            contexts[listener.name] = loaded[files]
        self._contexts = contexts

    def for_listener(self, name: str) -> ssl.SSLContext:
        return self._contexts[name]

    def reload(self) -> bool:
        """Re-read every certificate; on any error keep all the old ones and log why."""
        try:
            self._load_all()
        except CertificateError as error:
            log.error("TLS reload failed, keeping the previous certificates: %s", error)
            return False
        log.info("TLS certificates reloaded")
        return True
