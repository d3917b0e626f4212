"""The one gate every request passes: its session (sessions.py) found or made, and every
state-changing request (POST, PUT, PATCH, DELETE) refused with 403 unless its form
carries the session's CSRF token (`csrf_token`) or its `X-CSRF-Token` header does, and,
when the browser says where it comes from (`Origin`), it comes from this site.

It is middleware, not a helper each page would have to remember to call: a page added
later is protected without doing anything. The body of a form is read here (bounded:
413 past `MAX_FORM_BYTES`) and handed on unchanged. Paths that take no session and change
nothing (Autodiscover's POST, `/metrics`) are exempt by name (`exempt`).

On a listener that requires client certificates, the connection's certificate (let in by
`server.Admission`) logs its session in as that administrator here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from mailroom.web.server import ADMITTED, Asgi, Receive, Scope, Send
from mailroom.web.sessions import Role, Session, SessionStore

COOKIE = "mailroom_session"
SECURE_COOKIE = "__Host-mailroom_session"
"""On TLS listeners: the browser sends it only over HTTPS and only to this host."""


def session_cookie(listener: str, secure: bool) -> str:
    """The session cookie's name on the listener called `listener`. Browsers keep cookies
    per host, not per port, so each listener has a name of its own: a login on the admin
    listener and one on the members' listener of the same host do not overwrite each
    other. Characters a cookie name may not have become `_`, with a digest of the name
    so that two listeners never share one."""
    base = SECURE_COOKIE if secure else COOKIE
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", listener)
    if safe != listener:
        safe += "_" + hashlib.sha256(listener.encode()).hexdigest()[:8]
    return f"{base}-{safe}"


MAX_FORM_BYTES = 1024 * 1024
"""Largest request body a page accepts (a certificate upload is a few KiB)."""
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_of(request: Request) -> Session:
    """The request's session (the gate put it there)."""
    session: Session = request.scope["mailroom.session"]
    return session


class Guard:
    def __init__(
        self, app: Asgi, sessions: SessionStore, listener: str, exempt: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.listener = listener
        """The listener's name: its session cookie's (`session_cookie`)."""
        self.exempt = {path.lower() for path in exempt}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].lower() in self.exempt:
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        name = session_cookie(self.listener, secure)
        session = self.sessions.get(cookie_value(scope.get("headers", []), name))
        fresh = session is None
        if session is None:
            session = self.sessions.new()
        admitted = scope.get(ADMITTED)
        if admitted is not None and session.account != admitted:
            # A listener that requires certificates: the connection's certificate is the
            # login (server.Admission let in only an administrator's).
            session = self.sessions.log_in(session, admitted, Role.ADMIN, "certificate")
            fresh = True
        scope["mailroom.session"] = session
        if scope["method"] in UNSAFE:
            body = await _body(receive)
            if body is None:
                await PlainTextResponse("request too large", 413)(scope, receive, send)
                return
            receive = _replay(body)
            if not await _allowed(scope, receive, session):
                await PlainTextResponse(
                    "refused: the form's CSRF token is missing or wrong; "
                    "reload the page and try again",
                    403,
                )(scope, receive, send)
                return
            receive = _replay(body)

        async def with_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                current: Session = scope["mailroom.session"]
                if fresh or current is not session or current.id != session.id:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", _set_cookie(name, current, secure).encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_cookie)


def cookie_value(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    """The value of the cookie `name` in a request's `Cookie:` headers (client input:
    a malformed header counts as no cookie, never as an error)."""
    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed cookie header is no session
                return None
            if name in jar:
                return jar[name].value
    return None


def _set_cookie(name: str, session: Session, secure: bool) -> str:
    parts = [f"{name}={session.id}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _allowed(scope: Scope, receive: Receive, session: Session) -> bool:
    request = Request(scope, receive)
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            return False
    token = request.headers.get("x-csrf-token")
    if token is None:
        form: FormData = await request.form(max_files=4, max_fields=200)
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    return token is not None and hmac.compare_digest(token, session.csrf_token)
