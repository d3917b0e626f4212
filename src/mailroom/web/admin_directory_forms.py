"""What the directory's admin pages share: reading a form, the few values a form holds
that are not the directory's to check (a size, a list of addresses, two passwords that
must agree), and turning the directory's refusal into the page shown again with its
message.

A change is always the Directory's own operation, called as the CLI calls it, so the web
admin refuses exactly what `mailroom user|alias|...` refuses, with the same words."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from mailroom.config.sizes import parse_size
from mailroom.directory import (
    AliasLoop,
    AlreadyExists,
    DatabaseUnavailable,
    DirectoryError,
    InUse,
    NotFound,
    SchemaNotReady,
)
from mailroom.web.access import admin
from mailroom.web.pages import page

MAX_FIELD_CHARACTERS = 64 * 1024
"""Longest value taken from one form field (the gate bounds the whole body at 1 MiB);
the directory checks the real limits of each value."""
MAX_LIST_ITEMS = 1000
"""Most addresses one field may list (an alias's targets)."""

_SEPARATORS = re.compile(r"[\s,;]+")

Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """A form refused before the directory saw it; `str()` is the line shown."""


def status_of(error: Exception) -> int:
    """The HTTP status a refusal is shown with."""
    if isinstance(error, DatabaseUnavailable | SchemaNotReady):
        return 503
    if isinstance(error, AlreadyExists | InUse | AliasLoop):
        return 409
    return 400


async def form_fields(request: Request) -> dict[str, str]:
    """The form's text fields (a field given twice: its last value), each cut to
    MAX_FIELD_CHARACTERS; uploaded files are ignored."""
    form = await request.form()
    return {
        key: value[:MAX_FIELD_CHARACTERS]
        for key, value in form.multi_items()
        if isinstance(value, str)
    }


def address_list(text: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or line breaks, as typed into one
    field; the directory checks each. Refused past MAX_LIST_ITEMS."""
    items = [item for item in _SEPARATORS.split(text) if item]
    if len(items) > MAX_LIST_ITEMS:
        raise Refused(f"at most {MAX_LIST_ITEMS} addresses in one field, not {len(items)}")
    return items


def quota_of(text: str) -> int | None:
    """A quota field: empty or `unlimited` for none, else a size like `2G` (as the CLI's
    `--quota`)."""
    if not text.strip():
        return None
    try:
        return parse_size(text)
    except ValueError as error:
        raise Refused(f"quota: {error}") from None


def new_password(fields: dict[str, str]) -> str:
    """The `password` field, which `password_repeat` must repeat (as the CLI asks twice)."""
    password = fields.get("password", "")
    if password != fields.get("password_repeat", ""):
        raise Refused("the two passwords differ; nothing was changed")
    if not password:
        raise Refused("the password is empty; nothing was changed")
    return password


def address_url(prefix: str, address: str) -> str:
    """The page of one account or alias: `/admin/accounts/alice%40example.org`."""
    return prefix + "/" + quote(address, safe="@")


def shows_refusals(handler: Handler) -> Handler:
    """A page whose directory cannot answer (or whose account or alias does not exist)
    gets the error page with the directory's one line, never a traceback."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        admin(request)
        try:
            return await handler(request)
        except NotFound as error:
            return page(request, "error.html", status=404, detail=str(error))
        except DirectoryError as error:
            return page(request, "error.html", status=status_of(error), detail=str(error))

    return wrapped
