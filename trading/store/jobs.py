"""Scheduled job runs: a run (job, scheduled time) is claimed by exactly one process, then finished."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from trading.store.executor import Executor, Record

Outcome = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None
    detail: str


def _run(r: Record) -> JobRun:
    return JobRun(r["job"], r["scheduled_for"], r["started_at"], r["finished_at"], r["outcome"], r["detail"])


class JobRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def claim_run(self, job: str, scheduled_for: datetime, at: datetime | None = None) -> bool:
        """True for the one caller that gets to run this occurrence; False if it was already claimed."""
        claimed = await self._db.fetchval(
            """
            INSERT INTO job_runs (job, scheduled_for, started_at) VALUES ($1, $2, coalesce($3, now()))
            ON CONFLICT (job, scheduled_for) DO NOTHING RETURNING true
            """,
            job,
            scheduled_for,
            at,
        )
        return claimed is not None

    async def finish(
        self, job: str, scheduled_for: datetime, outcome: Outcome, detail: str = "", at: datetime | None = None
    ) -> None:
        await self._db.execute(
            """
            UPDATE job_runs SET finished_at = coalesce($5, now()), outcome = $3, detail = $4
            WHERE job = $1 AND scheduled_for = $2
            """,
            job,
            scheduled_for,
            outcome,
            detail,
            at,
        )

    async def get(self, job: str, scheduled_for: datetime) -> JobRun | None:
        r = await self._db.fetchrow("SELECT * FROM job_runs WHERE job = $1 AND scheduled_for = $2", job, scheduled_for)
        return None if r is None else _run(r)

    async def last_run(self, job: str) -> JobRun | None:
        r = await self._db.fetchrow("SELECT * FROM job_runs WHERE job = $1 ORDER BY scheduled_for DESC LIMIT 1", job)
        return None if r is None else _run(r)

    async def recent(self, limit: int = 20) -> list[JobRun]:
        rows = await self._db.fetch("SELECT * FROM job_runs ORDER BY scheduled_for DESC, id DESC LIMIT $1", limit)
        return [_run(r) for r in rows]
