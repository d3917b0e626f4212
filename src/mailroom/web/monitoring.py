"""`GET /metrics` (Prometheus' text format, the whole host's counters: see mailroom.metrics)
and `GET /healthz` (200 "ok", or 503 naming what fails: the directory, delivery, workers).

Both are plain routes outside the session gate (`PATHS` are exempt in app.py): a scraper
or a load balancer has no session and must not make one at every visit, and neither
route changes anything. Neither asks for a login either: `/metrics` is limited to
`[web] metrics_networks` instead (default loopback; a Prometheus server elsewhere is
added there, as it would be to a firewall rule), and `/healthz` says nothing an outsider
could use. Administrators see the same numbers drawn on the dashboard (`/admin`).
Their errors are plain text, never the HTML error page (that one needs a session).
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from mailroom.metrics.combined import CONTENT_TYPE
from mailroom.net import in_networks
from mailroom.web.access import client_address
from mailroom.web.context import WebServices

PATHS = ("/metrics", "/healthz")
"""Paths exempt from the session gate (no session, nothing changed)."""
NO_STORE = {"Cache-Control": "no-store"}


def routes(services: WebServices) -> list[BaseRoute]:
    networks = list(services.settings.metrics_networks)

    async def metrics(request: Request) -> Response:
        source = services.metrics
        if source is None:
            return PlainTextResponse("no metrics on this host\n", 404, headers=NO_STORE)
        if not _from(request, networks):
            return PlainTextResponse(
                "refused: this address is not in [web] metrics_networks\n", 403, headers=NO_STORE
            )
        return Response(await source.exposition(), media_type=CONTENT_TYPE, headers=NO_STORE)

    async def healthz(request: Request) -> Response:
        source = services.metrics
        if source is None:
            return PlainTextResponse("no health checks on this host\n", 404, headers=NO_STORE)
        problems = await source.problems()
        if problems:
            return PlainTextResponse(f"failing: {'; '.join(problems)}\n", 503, headers=NO_STORE)
        return PlainTextResponse("ok\n", headers=NO_STORE)

    return [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def _from(request: Request, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request).split("%", 1)[0])
    except ValueError:
        return False
    return in_networks(address, networks)
