"""The audit log: every change made through the web admin or self-service, with who made
it and from where. Kept in the directory's database, so every node of a host writes to
one log, and written without bumping the directory's version (no cache holds it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from mailroom.directory.schema import ADDRESS_LENGTH, audit_log
from mailroom.directory.transactions import Transactions

DETAIL_LENGTH = 1000
SOURCE_LENGTH = 64
ACTION_LENGTH = 64


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    """The account that made the change."""
    source: str
    """Where from: the client's address."""
    action: str
    """What was done, a short fixed word: `account.add`, `queue.release`, ..."""
    target: str
    """What it was done to: an address, a queue id, ..."""
    detail: str


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class AuditOperations(Transactions):
    async def record_audit(
        self, actor: str, source: str, action: str, target: str, detail: str = ""
    ) -> AuditEntry:
        """Append one entry (long fields are cut to their column's size, never refused:
        an audit entry must not fail the change it records)."""
        entry = AuditEntry(
            at=datetime.now(UTC),
            actor=_clip(actor, ADDRESS_LENGTH),
            source=_clip(source, SOURCE_LENGTH),
            action=_clip(action, ACTION_LENGTH),
            target=_clip(target, ADDRESS_LENGTH),
            detail=_clip(detail, DETAIL_LENGTH),
        )
        async with self._recording() as connection:
            await connection.execute(
                insert(audit_log).values(
                    at=entry.at,
                    actor=entry.actor,
                    source=entry.source,
                    action=entry.action,
                    target=entry.target,
                    detail=entry.detail,
                )
            )
        return entry

    async def audit_entries(self, limit: int = 100, actor: str | None = None) -> list[AuditEntry]:
        """The newest entries first (of `actor` only, if given)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        async with self._reading() as connection:
            rows = await connection.execute(query)
            return [
                AuditEntry(
                    at=row.at,
                    actor=row.actor,
                    source=row.source,
                    action=row.action,
                    target=row.target,
                    detail=row.detail,
                )
                for row in rows
            ]
