"""The admin's read-only page of the routing table files the config names
(`/admin/maps`): rewrite maps, the aliases file, BCC maps, transport maps. Each file's
text as it is on disk now and whether routing's loader takes it; the running host reads
them at start and on SIGHUP, so an error shown here is what the next reload would refuse.
Changing them stays the operator's job (they are files under configuration management)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.web.access import admin
from mailroom.web.context import WebServices
from mailroom.web.pages import page

MAPS = "/admin/maps"

MAX_SHOWN_CHARACTERS = 256 * 1024
"""Most of one file's text put into the page (the rest is counted, not shown)."""

KINDS = {
    "rewrite_maps": "Rewrite map (regexp_table)",
    "aliases_file": "Aliases file",
    "recipient_bcc_maps": "Recipient BCC map",
    "transport_maps": "Transport map",
}


def routes(services: WebServices) -> list[BaseRoute]:
    async def maps_page(request: Request) -> Response:
        admin(request)
        files = await services.routing_map_files()
        return page(
            request,
            "admin_dir/maps.html",
            files=files,
            kinds=KINDS,
            limit=MAX_SHOWN_CHARACTERS,
        )

    return [Route(MAPS, maps_page, methods=["GET"])]
