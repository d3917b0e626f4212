"""Logging in to the web with a TLS client certificate, the legacy host's way into its
admin pages.

The certificate comes from the ASGI TLS extension (web/server.py), is checked by the
host's `ClientCertificates` (dates, issuer, CRLs) and mapped to an account by the same
`CertificateLogin` rules as SASL EXTERNAL (`[client_certificates] account_from`), so a
revoked certificate is refused here as on IMAP, logged and counted by the one throttle.
The account is an administrator iff it is in `[web] administrators`.

Two ways:
- on a listener of `[client_certificates] listeners`, the login page offers "log in with
  your certificate" (a form, so that a browser that sent a certificate is not logged in
  by merely visiting);
- on a listener of `[web] certificate_required_listeners`, TLS requires a certificate
  (net/tls.py) and `admission` decides, once per connection, whether it gets any answer:
  only an administrator's good certificate does; every other connection is closed
  unanswered (server.Admission). The Guard then logs the session in as that account.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.config import Listener
from mailroom.directory import DirectoryError
from mailroom.web.access import client_ip, parse_client_ip
from mailroom.web.context import WebServices
from mailroom.web.guard import session_of
from mailroom.web.login import presented_certificate, role_of, safe_next
from mailroom.web.pages import page, see_other
from mailroom.web.server import Admission
from mailroom.web.sessions import Role, SessionStore

log = logging.getLogger("mailroom.web")


def admission(services: WebServices, listener: Listener) -> Admission | None:
    """What lets a connection in on a certificate-required listener (None on others)."""
    if listener.name not in services.settings.certificate_required_listeners:
        return None
    external = services.external

    async def admit(extension: dict[str, Any], client: str) -> str | None:
        chain = extension.get("client_cert_chain") or []
        if external is None or not chain:  # TLS asked for one: only a broken setup lands here
            log.warning(
                "web: %s: connection from %s without a certificate closed", listener.name, client
            )
            return None
        try:
            der = ssl.PEM_cert_to_DER_cert(chain[0])
            result = await external.log_in_certificate(
                der, "", protocol="web", client_ip=parse_client_ip(client)
            )
        except (ValueError, DirectoryError) as error:
            log.warning("web: %s: connection from %s closed: %s", listener.name, client, error)
            return None
        if not result.ok or result.account is None:
            return None  # CertificateLogin logged why
        if role_of(services, result.account) is not Role.ADMIN:
            log.info(
                "web: %s: connection from %s closed: %s is no administrator",
                listener.name,
                client,
                result.account,
            )
            return None
        return result.account

    return admit


def routes(services: WebServices, sessions: SessionStore) -> list[BaseRoute]:
    async def log_in(request: Request) -> Response:
        target = safe_next(str((await request.form()).get("next", "")))
        der = presented_certificate(request)
        if services.external is None or der is None:
            return page(request, "login.html", status=403, next=target, no_certificate=True)
        try:
            result = await services.external.log_in_certificate(
                der, "", protocol="web", client_ip=client_ip(request)
            )
        except DirectoryError:
            return page(request, "login.html", status=503, next=target, unavailable=True)
        if not result.ok or result.account is None:
            status = 429 if result.temporary else 401
            return page(request, "login.html", status=status, next=target, certificate_failed=True)
        role = role_of(services, result.account)
        fresh = sessions.log_in(session_of(request), result.account, role, "certificate")
        request.scope["mailroom.session"] = fresh
        return see_other(target)

    return [Route("/login/certificate", log_in, methods=["POST"])]
