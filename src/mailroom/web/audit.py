"""Writing down a change made through the web: one entry in the directory's audit log
(who, from where, what) and one log line. Every handler that changes something calls
`audit` once the change is made."""

from __future__ import annotations

import logging

from starlette.requests import Request

from mailroom.directory import Directory
from mailroom.web.access import client_address, member

log = logging.getLogger("mailroom.web")


async def audit(
    request: Request, directory: Directory, action: str, target: str, detail: str = ""
) -> None:
    """Record that the logged-in account did `action` to `target` (e.g. "alias.add",
    "pr@example.org", "targets: alice@example.org")."""
    actor = member(request)
    source = client_address(request)
    await directory.record_audit(actor, source, action, target, detail)
    log.info(
        "web: audit actor=%s source=%s action=%s target=%s%s",
        actor,
        source,
        action,
        target,
        f" detail={detail!r}" if detail else "",
    )
