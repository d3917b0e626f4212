"""Logging in and out with a password (the account's own, checked by the host's one
Authenticator, so the throttle and its bans apply as on every protocol). An administrator
then gives a TOTP code too (web/totp.py); a client certificate is the other way in
(web/certificate_login.py), and the only one on `certificate_required_listeners`.

A password is taken only over TLS or from the listener's `plaintext_networks`, the rule of
every other listener. A failed login waits the throttle's delay and gets one generic
message, whatever went wrong."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth import AuthRequest
from mailroom.config import Listener
from mailroom.directory import DirectoryError
from mailroom.web import totp
from mailroom.web.access import client_address, client_ip
from mailroom.web.context import WebServices
from mailroom.web.guard import session_of
from mailroom.web.pages import page, see_other
from mailroom.web.sessions import Role, SessionStore

MAX_LOGIN_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024


def role_of(services: WebServices, account: str) -> Role:
    administrators = {each.lower() for each in services.settings.administrators}
    return Role.ADMIN if account.lower() in administrators else Role.MEMBER


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def password_allowed(request: Request, listener: Listener) -> bool:
    if request.url.scheme == "https":
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    networks = listener.plaintext_networks
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def presented_certificate(request: Request) -> bytes | None:
    """The client certificate of the request's TLS connection (DER), if it sent one."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    try:
        return ssl.PEM_cert_to_DER_cert(chain[0])
    except ValueError:
        return None


def routes(services: WebServices, listener: Listener, sessions: SessionStore) -> list[BaseRoute]:
    certificate_only = listener.name in services.settings.certificate_required_listeners

    def login_page(request: Request, status: int = 200, **context: object) -> Response:
        return page(
            request,
            "login.html",
            status=status,
            plain_refused=not password_allowed(request, listener),
            certificate=services.external is not None
            and presented_certificate(request) is not None,
            **context,
        )

    async def login_form(request: Request) -> Response:
        if session_of(request).account is not None:
            return see_other(safe_next(request.query_params.get("next")))
        return login_page(request, next=safe_next(request.query_params.get("next")))

    async def log_in(request: Request) -> Response:
        form = await request.form()
        login = str(form.get("login", ""))[:MAX_LOGIN_LENGTH].strip()
        password = str(form.get("password", ""))[:MAX_PASSWORD_LENGTH]
        target = safe_next(str(form.get("next", "")))
        if certificate_only or not password_allowed(request, listener):
            return login_page(request, status=403, next=target)
        try:
            result = await services.authenticator.authenticate(
                AuthRequest(
                    protocol="web", client_ip=client_ip(request), login=login, password=password
                )
            )
        except DirectoryError:
            return login_page(request, status=503, next=target, unavailable=True)
        if not result.ok or result.account is None or result.master is not None:
            if result.delay_seconds:
                await asyncio.sleep(result.delay_seconds)
            status = 429 if result.temporary else 401
            return login_page(request, status=status, next=target, failed=True, login=login)
        role = role_of(services, result.account)
        if role is Role.ADMIN and services.settings.totp_for_administrators:
            return await totp.after_password(request, services, sessions, result.account, target)
        fresh = sessions.log_in(session_of(request), result.account, role, "password")
        request.scope["mailroom.session"] = fresh
        return see_other(target)

    async def log_out(request: Request) -> Response:
        session = session_of(request)
        sessions.end(session)
        request.scope["mailroom.session"] = sessions.new()
        return see_other("/login")

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", log_in, methods=["POST"]),
        Route("/logout", log_out, methods=["POST"]),
    ]
