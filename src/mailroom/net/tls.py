"""Server TLS contexts: TLS 1.2 and newer only, one certificate per listener or the
default, re-read on demand (SIGHUP) without touching established connections."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from mailroom.config import Config, Listener, Protocol
from mailroom.net.client_certificates import ClientCertificateError, ClientCertificates

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
    """One live TLS context per certificate/key pair, shared by the listeners using it.

    `reload()` (SIGHUP) first loads every pair into scratch contexts; only if all
    load does it load them again into the live contexts, whose new handshakes then
    use the new certificates. Connections already established keep theirs. The live
    contexts are changed in place because an implicit-TLS listener hands its context
    to the event loop once, at start.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        # The CA bundle and CRLs of the listeners that ask for client certificates.
        try:
            self.client_certificates = ClientCertificates.from_config(config)
        except ClientCertificateError as error:
            raise CertificateError(str(error)) from None
        self._required = required_certificate_listeners(config, self.client_certificates)
        self._by_listener = {listener.name: self._files(listener) for listener in config.listeners}
        self._live = {files: self._context(*files) for files in set(self._by_listener.values())}

    def _files(self, listener: Listener) -> tuple[Path, Path, ssl.VerifyMode]:
        """The listener's certificate and key, and whether it asks for client
        certificates or requires them (those listeners get a context of their own)."""
        certificate = listener.certificate or self._config.tls.certificate
        key = listener.key or self._config.tls.key
        asks = self.client_certificates is not None and self.client_certificates.asks(listener.name)
        mode = ssl.CERT_NONE
        if asks:
            mode = ssl.CERT_REQUIRED if listener.name in self._required else ssl.CERT_OPTIONAL
        return self._config.resolve(certificate), self._config.resolve(key), mode

    def _context(self, certificate: Path, key: Path, mode: ssl.VerifyMode) -> ssl.SSLContext:
        context = server_context(certificate, key)
        if mode is not ssl.CERT_NONE and self.client_certificates is not None:
            try:
                self.client_certificates.configure(context)
            except ClientCertificateError as error:
                raise CertificateError(str(error)) from None
            # No certificate, or one no CA of ca_file signed: the handshake fails.
            context.verify_mode = mode
        return context

    def for_listener(self, name: str) -> ssl.SSLContext:
        return self._live[self._by_listener[name]]

    def reload(self) -> bool:
        """Re-read every certificate; on any error keep all the old ones and log why."""
        try:
            for certificate, key, _ in self._live:
                server_context(certificate, key)  # refuses a broken pair before anything changes
            for (certificate, key, _), context in self._live.items():
                context.load_cert_chain(certificate, key)
        except (CertificateError, OSError, ssl.SSLError) as error:
            log.error("TLS reload failed, keeping the previous certificates: %s", error)
            return False
        log.info("TLS certificates reloaded")
        return True


def required_certificate_listeners(
    config: Config, certificates: ClientCertificates | None
) -> frozenset[str]:
    """The listeners of `[web] certificate_required_listeners`, each checked: a `web`
    listener with TLS that asks for certificates; CertificateError naming the one that
    is not."""
    names = config.web.certificate_required_listeners
    listeners = {listener.name: listener for listener in config.listeners}
    for name in names:
        listener = listeners.get(name)
        problem = None
        if listener is None:
            problem = "which is no listener"
        elif listener.protocol is not Protocol.WEB:
            problem = f"a {listener.protocol} listener: only web listeners can require one"
        elif certificates is None or not certificates.asks(name):
            problem = "which is not in [client_certificates] listeners: add it there too"
        if problem is not None:
            raise CertificateError(
                f"[web] certificate_required_listeners names {name!r}, {problem}"
            )
    return frozenset(names)
