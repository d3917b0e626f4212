"""/admin/queue: the mail waiting in the queue, by state and age; one message with its
envelope, recipients and headers; and what `mailroom queue` does to it (retry now,
hold, release, delete, bounce).

Reading is from the host's queue as it holds it in memory; every change goes through
the control channel's own handler (`control.administration.QueueAdministration`, the
one `mailroom queue hold ID` reaches over the control socket), so the web and the CLI
act alike and log alike. Each change is audited with what became of the message.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.control import ControlCommand, ControlRequest
from mailroom.control.administration import NOT_QUEUED, QueueAdministration
from mailroom.queue import MailQueue, QueueEntry, RecipientState, UnknownMessage, is_queue_id
from mailroom.web.access import admin
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

MAX_HEADER_BYTES = 256 * 1024
"""Of a queued message, at most this much is read for its headers."""
MAX_LISTED = 1000
"""Messages listed on one page (the oldest first); the counts cover them all."""

ACTIONS: dict[str, ControlCommand] = {
    "retry": ControlCommand.FLUSH,
    "hold": ControlCommand.HOLD,
    "release": ControlCommand.RELEASE,
    "delete": ControlCommand.DELETE,
    "bounce": ControlCommand.BOUNCE,
}
"""The buttons of a message's page (their ids are `queue-<action>`) and the control
command each sends; "retry" is `mailroom queue flush ID`."""

STATES = ("held", "deferred", "pending")

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 10 minutes", 600),
    ("10 minutes to 1 hour", 3600),
    ("1 to 6 hours", 6 * 3600),
    ("6 to 24 hours", 24 * 3600),
    ("1 to 3 days", 3 * 24 * 3600),
    ("over 3 days", float("inf")),
)


def message_state(entry: QueueEntry) -> str:
    """held (by an administrator), deferred (some recipient failed for now and waits its
    retry) or pending (to be tried as soon as delivery gets to it)."""
    if entry.envelope.held:
        return "held"
    if any(r.state is RecipientState.DEFERRED for _, r in entry.unfinished()):
        return "deferred"
    return "pending"


def age_bucket(seconds: float) -> str:
    for name, limit in AGE_BUCKETS:
        if seconds < limit:
            return name
    return AGE_BUCKETS[-1][0]


def age_text(seconds: float) -> str:
    """A short age a person reads at a glance: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86400:
        return f"{hours}h {minutes % 60}m"
    return f"{days}d {hours % 24}h"


def utc(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def header_fields(data: bytes) -> list[tuple[str, str]]:
    """The header fields of a message's first bytes, as text that can be shown: bytes
    that are not UTF-8 become U+FFFD (the parser keeps them as surrogates, which no page
    can be encoded with). Never raises, whatever the bytes."""
    end = data.find(b"\n\n")
    end_crlf = data.find(b"\r\n\r\n")
    ends = [position for position in (end, end_crlf) if position >= 0]
    head = data[: min(ends)] if ends else data
    message = BytesHeaderParser(policy=compat32).parsebytes(head)
    # raw_items: the values as received (folded lines kept); items() would turn 8-bit
    # text into Header objects whose str() replaces every non-ASCII byte.
    return [(_shown(name), _shown(value)) for name, value in message.raw_items()]


def _shown(text: object) -> str:
    text = text if isinstance(text, str) else str(text)
    shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return shown.replace("\r\n", "\n").replace("\r", "\n")


def _read_head(path: Path) -> bytes:
    with path.open("rb") as message:
        return message.read(MAX_HEADER_BYTES)


@dataclass(frozen=True)
class QueueRow:
    entry: QueueEntry
    state: str
    age: str
    arrived: str


def routes(services: WebServices) -> list[BaseRoute]:
    def queue_of() -> MailQueue:
        if services.queue is None:
            raise HTTPException(503, "this web listener has no queue to show")
        return services.queue

    def administration() -> QueueAdministration:
        if services.queue_administration is None:
            raise HTTPException(503, "the queue cannot be changed from this web listener")
        return services.queue_administration

    async def listing(request: Request) -> Response:
        admin(request)
        wanted = request.query_params.get("state", "")
        if wanted and wanted not in STATES:
            raise HTTPException(404, "no such queue state")
        now = time.time()
        entries = await queue_of().entries()
        entries.sort(key=lambda entry: (entry.envelope.received_at, entry.queue_id))
        states: Counter[str] = Counter()
        ages: Counter[str] = Counter()
        rows: list[QueueRow] = []
        for entry in entries:
            state = message_state(entry)
            age = now - entry.envelope.received_at
            states[state] += 1
            ages[age_bucket(age)] += 1
            if (not wanted or state == wanted) and len(rows) < MAX_LISTED:
                rows.append(QueueRow(entry, state, age_text(age), utc(entry.envelope.received_at)))
        return page(
            request,
            "admin_queue.html",
            rows=rows,
            total=len(entries),
            states=[(state, states[state]) for state in STATES],
            ages=[(name, ages[name]) for name, _ in AGE_BUCKETS],
            wanted=wanted,
            max_listed=MAX_LISTED,
        )

    async def message(request: Request) -> Response:
        admin(request)
        queue_id = request.path_params["queue_id"]
        queue = queue_of()
        entry = await queue.get(queue_id) if is_queue_id(queue_id) else None
        if entry is None:
            raise HTTPException(404, f"no message {queue_id} in the queue")
        try:
            head = await asyncio.to_thread(_read_head, queue.message_path(queue_id))
        except (OSError, UnknownMessage):  # removed meanwhile
            raise HTTPException(404, f"no message {queue_id} in the queue") from None
        envelope = entry.envelope
        return page(
            request,
            "admin_queue_message.html",
            entry=entry,
            envelope=envelope,
            state=message_state(entry),
            age=age_text(time.time() - envelope.received_at),
            arrived=utc(envelope.received_at),
            recipients=[(r, utc(r.next_attempt)) for r in envelope.recipients],
            headers=header_fields(head),
            actions=list(ACTIONS),
        )

    async def act(request: Request) -> Response:
        admin(request)
        queue_id = request.path_params["queue_id"]
        command = ACTIONS.get(request.path_params["action"])
        if command is None or not is_queue_id(queue_id):
            raise HTTPException(404, "no such message or action")
        results = await administration().handle(ControlRequest(command, (queue_id,)))
        outcome = results.get(queue_id, NOT_QUEUED)
        await audit(request, services.directory, f"queue.{command.value}", queue_id, outcome)
        flash(request, f"{queue_id}: {outcome}")
        if outcome == NOT_QUEUED or await queue_of().get(queue_id) is None:
            return see_other("/admin/queue")
        return see_other(f"/admin/queue/{queue_id}")

    return [
        Route("/admin/queue", listing),
        Route("/admin/queue/{queue_id}", message),
        Route("/admin/queue/{queue_id}/{action}", act, methods=["POST"]),
    ]
