"""The administrators' second step after a password (RFC 6238 TOTP, pyotp), and the page
where they enrol their authenticator app.

A password alone never opens the admin pages: an administrator whose password was right
is asked for a code (`/login/totp`); one without a confirmed secret enrols first
(`/totp`: the otpauth URI and the secret to type, then a code to confirm) if
`[web] totp_enrol_with_password` allows it, and otherwise gets only the member's pages
until enrolled after a certificate login. A code is good once (the last time step used
is kept per account), a wrong one counts against the host's login throttle as a wrong
password does, and the step waits at most `PENDING_SECONDS` and `MAX_TRIES` codes.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import logging
import re
import time

import pyotp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth.throttle import Settlement
from mailroom.directory import DirectoryError
from mailroom.web.access import admin, client_address, client_ip
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.guard import session_of
from mailroom.web.pages import flash, page, see_other
from mailroom.web.sessions import Role, SessionStore

log = logging.getLogger("mailroom.web")

PENDING_SECONDS = 5 * 60
"""After the password, the code must come within this long."""
MAX_TRIES = 5
"""Wrong codes in one login before the password is asked again."""
VALID_WINDOW = 1
"""Codes of the step before and after now are good too (clocks drift, people type)."""
_CODE = re.compile(r"[0-9]{6}")


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """What an authenticator app scans or is given (Key Uri Format of Google
    Authenticator, which every app follows)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code `code` is, within VALID_WINDOW of now; None if none."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.datetime.fromtimestamp(now, datetime.UTC))
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


async def check_code(
    request: Request, services: WebServices, account: str, secret: str, code: str
) -> str | None:
    """None if `code` is good for `account` now (and not used before); else why not, for
    the page. Counted by the throttle as a login attempt; a failure waits its delay."""
    ip = client_ip(request)
    verdict = await services.throttle.reserve(ip, account)
    if not verdict.allowed:
        return f"Too many failed logins: try again in {verdict.retry_after:.0f} seconds."
    step = matching_step(secret, code, time.time())
    used = services.totp_steps.get(account)
    good = step is not None and (used is None or step > used)
    delay = await services.throttle.settle(
        ip, account, verdict.token, Settlement.SUCCESS if good else Settlement.FAILURE
    )
    log.info(
        "web: totp account=%s client=%s result=%s",
        account,
        client_address(request),
        "ok" if good else ("reused" if step is not None else "fail"),
    )
    if not good:
        if delay:
            await asyncio.sleep(delay)
        return "That code is not right (or was used already); wait for the next one."
    assert step is not None
    services.totp_steps[account] = step
    return None


async def after_password(
    request: Request, services: WebServices, sessions: SessionStore, account: str, target: str
) -> Response:
    """An administrator's password was right: the code next, or enrolment, or the
    member's pages only (module docstring)."""
    session = session_of(request)
    try:
        secret = await services.directory.totp_secret(account)
    except DirectoryError:
        return page(request, "login.html", status=503, next=target, unavailable=True)
    since = str(sessions.clock())
    if secret is not None and secret.confirmed:
        session.pending = {"totp": account, "next": target, "since": since, "tries": "0"}
        return see_other("/login/totp")
    if services.settings.totp_enrol_with_password:
        session.pending = {"enrol": account, "next": target, "since": since, "tries": "0"}
        return see_other("/totp")
    fresh = sessions.log_in(session, account, Role.MEMBER, "password")
    request.scope["mailroom.session"] = fresh
    flash(
        request,
        "The admin pages need a TOTP code after the password: log in with your client "
        "certificate once and enrol one under Two-step login.",
    )
    return see_other("/")


def routes(services: WebServices, sessions: SessionStore) -> list[BaseRoute]:
    def pending(request: Request, step: str) -> str | None:
        """The account of the login step `step` ("totp", "enrol") in progress, if any."""
        waiting = session_of(request).pending
        account = waiting.get(step)
        if account is None:
            return None
        if sessions.clock() - float(waiting.get("since", "0")) > PENDING_SECONDS:
            waiting.clear()
            return None
        return account

    def tried(request: Request) -> bool:
        """Count one wrong code; True when that was the last one allowed."""
        waiting = session_of(request).pending
        tries = int(waiting.get("tries", "0")) + 1
        waiting["tries"] = str(tries)
        if tries >= MAX_TRIES:
            waiting.clear()
            return True
        return False

    def logged_in_admin(request: Request, account: str, target: str) -> Response:
        fresh = sessions.log_in(session_of(request), account, Role.ADMIN, "password+totp")
        request.scope["mailroom.session"] = fresh
        return see_other(target)

    async def code_form(request: Request) -> Response:
        if pending(request, "totp") is None:
            return see_other("/login")
        return page(request, "login_totp.html")

    async def code_given(request: Request) -> Response:
        account = pending(request, "totp")
        if account is None:
            return see_other("/login")
        target = session_of(request).pending.get("next", "/")
        code = str((await request.form()).get("code", ""))[:32]
        secret = await services.directory.totp_secret(account)
        problem = "No TOTP secret is enrolled any more." if secret is None else None
        if secret is not None:
            problem = await check_code(request, services, account, secret.secret, code)
        if problem is None:
            return logged_in_admin(request, account, target)
        if tried(request):
            return see_other("/login")
        return page(request, "login_totp.html", status=401, problem=problem)

    def enrolling(request: Request) -> tuple[str, bool]:
        """The account enrolling and whether it is logged in (an administrator's own
        page) or in the middle of its password login."""
        account = pending(request, "enrol")
        if account is not None and session_of(request).account is None:
            return account, False
        return admin(request), True

    async def enrolment(request: Request) -> Response:
        account, logged_in = enrolling(request)
        secret = await services.directory.totp_secret(account)
        return page(
            request,
            "totp.html",
            enrolled=secret is not None and secret.confirmed,
            secret=secret.secret if secret is not None and not secret.confirmed else None,
            uri=otpauth_uri(secret.secret, account, services.hostname)
            if secret is not None and not secret.confirmed
            else None,
            logged_in=logged_in,
            enrolling_account=account,
        )

    async def start(request: Request) -> Response:
        account, logged_in = enrolling(request)
        await services.directory.set_totp_secret(account, pyotp.random_base32())
        if logged_in:
            await audit(request, services.directory, "totp.start", account)
        return see_other("/totp")

    async def confirm(request: Request) -> Response:
        account, logged_in = enrolling(request)
        code = str((await request.form()).get("code", ""))[:32]
        secret = await services.directory.totp_secret(account)
        if secret is None or secret.confirmed:
            return see_other("/totp")
        problem = await check_code(request, services, account, secret.secret, code)
        if problem is not None:
            if not logged_in and tried(request):
                return see_other("/login")
            flash(request, problem)
            return see_other("/totp")
        await services.directory.confirm_totp_secret(account, secret.secret)
        response: Response = see_other("/totp")
        if not logged_in:
            target = session_of(request).pending.get("next", "/")
            response = logged_in_admin(request, account, target)
        await audit(request, services.directory, "totp.enrol", account)
        flash(request, "Two-step login is on: from now on give a code after your password.")
        return response

    async def remove(request: Request) -> Response:
        account = admin(request)
        if await services.directory.remove_totp_secret(account):
            await audit(request, services.directory, "totp.remove", account)
            flash(request, "Two-step login is off: the admin pages need your certificate now.")
        return see_other("/totp")

    return [
        Route("/login/totp", code_form, methods=["GET"]),
        Route("/login/totp", code_given, methods=["POST"]),
        Route("/totp", enrolment, methods=["GET"]),
        Route("/totp/start", start, methods=["POST"]),
        Route("/totp/confirm", confirm, methods=["POST"]),
        Route("/totp/remove", remove, methods=["POST"]),
    ]
