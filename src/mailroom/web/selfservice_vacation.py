"""`/me/vacation`: a member's vacation message and forwarding, written as their Sieve
script `mailroom-selfservice` (`selfservice_script`) in the store ManageSieve edits.

A member's own script is never clobbered. Ours is written under its own name, and made
the active script only when no script is active or ours already is. When the member
has activated a script of their own (through ManageSieve, or a hand-written
`.dovecot.sieve`), ours is saved but left inactive, and the page says so and how to
use it: `include :personal "mailroom-selfservice";` in their script (RFC 6609), or
activating ours instead. Nothing of theirs is renamed, rewritten or deactivated.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.directory import DirectoryError, InvalidAddress, normalize_address
from mailroom.web.access import member
from mailroom.web.audit import audit
from mailroom.web.context import ScriptRefused, ScriptState, WebServices
from mailroom.web.pages import flash, page, see_other
from mailroom.web.selfservice_script import (
    MAX_BODY,
    MAX_DAYS,
    MAX_SUBJECT,
    MIN_DAYS,
    SCRIPT_NAME,
    Settings,
    clean_line,
    clean_text,
    read_settings,
    render,
)

DIRECTORY_UNAVAILABLE = "The directory cannot be reached; try again in a minute."


def may_activate(state: ScriptState) -> bool:
    """Whether saving ours may make it active: nothing else of the member's is active."""
    return not state.hand_written_active and state.active in (None, SCRIPT_NAME)


def settings_from_form(form: dict[str, str], account: str) -> Settings | str:
    """The settings a posted form asks for, or why they cannot be saved."""
    try:
        days = int(form.get("days", "7") or "7")
    except ValueError:
        return "The number of days must be a whole number."
    if not MIN_DAYS <= days <= MAX_DAYS:
        return f"The number of days must be between {MIN_DAYS} and {MAX_DAYS}."
    vacation = form.get("vacation") == "on"
    body = clean_text(form.get("body", ""), MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return f"The message may have at most {MAX_BODY} characters."
    if vacation and not body:
        return "A vacation reply needs a message."
    forward_to = form.get("forward_to", "").strip()
    if forward_to:
        try:
            forward_to = normalize_address(forward_to)
        except InvalidAddress as error:
            return f"The forwarding address is not an address: {error.reason}."
        if forward_to == account:
            return "Forwarding to your own address would loop."
    return Settings(
        vacation=vacation,
        subject=clean_line(form.get("subject", ""), MAX_SUBJECT) or Settings().subject,
        body=body,
        days=days,
        forward_to=forward_to,
        keep_copy=form.get("keep_copy") == "on",
    )


def routes(services: WebServices) -> list[BaseRoute]:
    def unavailable(request: Request) -> Response:
        return page(request, "error.html", status=404, detail="Sieve filtering is off on this host")

    async def show(request: Request) -> Response:
        account = member(request)
        if services.open_scripts is None:
            return unavailable(request)
        try:
            scripts = await services.open_scripts(account)
        except DirectoryError:
            return page(request, "error.html", status=503, detail=DIRECTORY_UNAVAILABLE)
        state = await scripts.state(SCRIPT_NAME)
        return page(
            request,
            "self_vacation.html",
            settings=read_settings(state.source),
            state=state,
            ours=SCRIPT_NAME,
            active=state.active == SCRIPT_NAME,
            min_days=MIN_DAYS,
            max_days=MAX_DAYS,
        )

    async def save(request: Request) -> Response:
        account = member(request)
        if services.open_scripts is None:
            return unavailable(request)
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            scripts = await services.open_scripts(account)
        except DirectoryError:
            return page(request, "error.html", status=503, detail=DIRECTORY_UNAVAILABLE)
        state = await scripts.state(SCRIPT_NAME)
        chosen = settings_from_form(form, account)

        def refused(message: str, status: int = 400) -> Response:
            return page(
                request,
                "self_vacation.html",
                status=status,
                error=message,
                settings=read_settings(state.source),
                state=state,
                ours=SCRIPT_NAME,
                active=state.active == SCRIPT_NAME,
                min_days=MIN_DAYS,
                max_days=MAX_DAYS,
            )

        if isinstance(chosen, str):
            return refused(chosen)
        try:
            record = await services.authenticator.account(account)
        except DirectoryError:
            return refused(DIRECTORY_UNAVAILABLE, 503)
        own = (account, *(record.extra_addresses if record is not None else ()))
        activate = may_activate(state)
        try:
            await scripts.save(SCRIPT_NAME, render(chosen, own), activate=activate)
        except ScriptRefused as error:
            return refused(str(error))
        detail = (
            f"vacation: {'on' if chosen.vacation else 'off'}; "
            f"forward: {chosen.forward_to or 'none'}"
            + (" (keeping a copy)" if chosen.forward_to and chosen.keep_copy else "")
            + ("" if activate else f"; not active: {state.active or 'a hand-written script'} is")
        )
        await audit(request, services.directory, "vacation.set", account, detail)
        flash(
            request,
            "Saved."
            if activate
            else "Saved, but not in effect: another script of yours is active (see below).",
        )
        return see_other("/me/vacation")

    return [
        Route("/me/vacation", show, methods=["GET"]),
        Route("/me/vacation", save, methods=["POST"]),
    ]
