"""Component routes an admin chose, their audit, and the shadow runs' mismatches (migration 011)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trading.store.executor import Executor, connection


@dataclass(frozen=True, slots=True)
class StoredRoute:
    component: str
    mode: str
    rust_share: int | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class RouteChange:
    component: str
    old_route: str
    new_route: str
    changed_by: str
    reason: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ParityCount:
    component: str
    kind: str
    mismatches: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Mismatch:
    component: str
    kind: str
    subject: str
    python: Any
    rust: Any
    observed_at: datetime


class RouteRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def all(self) -> list[StoredRoute]:
        rows = await self._db.fetch(
            "SELECT component, mode, rust_share, changed_by, changed_at FROM component_routes ORDER BY component"
        )
        return [StoredRoute(r["component"], r["mode"], r["rust_share"], r["changed_by"], r["changed_at"]) for r in rows]

    async def set(
        self, component: str, mode: str, rust_share: int | None, by: str, old: str, new: str, reason: str = ""
    ) -> None:
        """Store an admin's route and its audit row together."""
        async with connection(self._db) as conn, conn.transaction():
            await conn.execute(
                """
                    INSERT INTO component_routes (component, mode, rust_share, changed_by, changed_at)
                    VALUES ($1, $2, $3, $4, now())
                    ON CONFLICT (component) DO UPDATE SET mode = EXCLUDED.mode,
                        rust_share = coalesce(EXCLUDED.rust_share, component_routes.rust_share),
                        changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at
                    """,
                component,
                mode,
                rust_share,
                by,
            )
            await self._audit(conn, component, old, new, by, reason)

    async def audit(self, component: str, old: str, new: str, by: str, reason: str = "") -> None:
        """A change not chosen by an admin's route (a breaker's trip, a reset)."""
        await self._audit(self._db, component, old, new, by, reason)

    @staticmethod
    async def _audit(db: Executor, component: str, old: str, new: str, by: str, reason: str) -> None:
        await db.execute(
            "INSERT INTO route_changes (component, old_route, new_route, changed_by, reason) "
            "VALUES ($1, $2, $3, $4, $5)",
            component,
            old,
            new,
            by,
            reason,
        )

    async def changes(self, limit: int = 20) -> list[RouteChange]:
        rows = await self._db.fetch(
            "SELECT component, old_route, new_route, changed_by, reason, changed_at FROM route_changes "
            "ORDER BY changed_at DESC, id DESC LIMIT $1",
            limit,
        )
        return [
            RouteChange(r["component"], r["old_route"], r["new_route"], r["changed_by"], r["reason"], r["changed_at"])
            for r in rows
        ]

    # ------------------------------------------------------------------ shadow runs
    async def record_mismatch(self, component: str, kind: str, subject: str, python: Any, rust: Any) -> bool:
        """Store a mismatch; True when it is the first of its (component, kind): the one to alert."""
        first: bool = await self._db.fetchval(
            """
            WITH seen AS (SELECT 1 FROM parity_mismatches WHERE component = $1 AND kind = $2 LIMIT 1),
                 ins AS (INSERT INTO parity_mismatches (component, kind, subject, python, rust)
                         VALUES ($1, $2, $3, $4, $5))
            SELECT NOT EXISTS (SELECT 1 FROM seen)
            """,
            component,
            kind,
            subject,
            python,
            rust,
        )
        return first

    async def count_compared(self, component: str, n: int) -> None:
        await self._db.execute(
            """
            INSERT INTO parity_checks (component, compared, updated_at) VALUES ($1, $2, now())
            ON CONFLICT (component) DO UPDATE SET compared = parity_checks.compared + EXCLUDED.compared,
                updated_at = EXCLUDED.updated_at
            """,
            component,
            n,
        )

    async def compared(self) -> dict[str, int]:
        rows = await self._db.fetch("SELECT component, compared FROM parity_checks ORDER BY component")
        return {r["component"]: int(r["compared"]) for r in rows}

    async def parity(self) -> list[ParityCount]:
        rows = await self._db.fetch(
            "SELECT component, kind, count(*) AS n, max(observed_at) AS last_at FROM parity_mismatches "
            "GROUP BY component, kind ORDER BY component, kind"
        )
        return [ParityCount(r["component"], r["kind"], int(r["n"]), r["last_at"]) for r in rows]

    async def mismatches(self, component: str | None = None, limit: int = 20) -> list[Mismatch]:
        rows = await self._db.fetch(
            "SELECT component, kind, subject, python, rust, observed_at FROM parity_mismatches "
            "WHERE $1::text IS NULL OR component = $1 ORDER BY id DESC LIMIT $2",
            component,
            limit,
        )
        return [
            Mismatch(r["component"], r["kind"], r["subject"], r["python"], r["rust"], r["observed_at"]) for r in rows
        ]
