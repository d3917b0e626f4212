"""The admin's pages for the directory, under `/admin/`: domains, accounts and their extra
addresses, aliases and send-as grants, transports (each a change through the Directory's
own operations, audited), and the routing table files (read-only). One module per page
family; this one gathers their routes for `web/app.py`."""

from __future__ import annotations

from starlette.routing import BaseRoute

from mailroom.web import (
    admin_directory_accounts,
    admin_directory_aliases,
    admin_directory_domains,
    admin_directory_maps,
)
from mailroom.web.context import WebServices


def routes(services: WebServices) -> list[BaseRoute]:
    return [
        *admin_directory_domains.routes(services),
        *admin_directory_accounts.routes(services),
        *admin_directory_aliases.routes(services),
        *admin_directory_maps.routes(services),
    ]
