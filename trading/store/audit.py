"""The audit log: who asked for what, and whether it was allowed (every refusal and every trade)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trading.store.executor import Executor, Record


@dataclass(frozen=True, slots=True)
class AuditEntry:
    command: str
    allowed: bool
    user_id: int | None = None
    user_name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    at: datetime | None = None  # None: the database's time when written


def _entry(r: Record) -> AuditEntry:
    return AuditEntry(
        command=r["command"],
        allowed=r["allowed"],
        user_id=r["user_id"],
        user_name=r["user_name"],
        arguments=r["arguments"],
        reason=r["reason"],
        at=r["at"],
    )


class AuditRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> int:
        new_id: int = await self._db.fetchval(
            """
            INSERT INTO audit_log (at, user_id, user_name, command, arguments, allowed, reason)
            VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7) RETURNING id
            """,
            entry.at,
            entry.user_id,
            entry.user_name,
            entry.command,
            entry.arguments,
            entry.allowed,
            entry.reason,
        )
        return new_id

    async def recent(self, limit: int = 50, *, user_id: int | None = None) -> list[AuditEntry]:
        """Newest first."""
        rows = await self._db.fetch(
            "SELECT * FROM audit_log WHERE ($2::bigint IS NULL OR user_id = $2) ORDER BY at DESC, id DESC LIMIT $1",
            limit,
            user_id,
        )
        return [_entry(r) for r in rows]
