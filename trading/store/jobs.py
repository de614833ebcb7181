"""Scheduled job runs: a run (job, scheduled time) is held under a lease by one process, then finished.

A claim is a lease: the owner (a random id per process) renews `lease_until` with a heartbeat while
the job runs. A run whose lease expired without `finished_at` (its owner died: kill -9, power loss)
is taken over by the next caller and run again; a finished run is never run again. Lease times are
the database's wall clock (`now()`), so processes on different (or simulated) clocks agree on them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from trading.store.executor import Executor, Record

Outcome = Literal["ok", "failed", "skipped"]
# new: first claim; resumed: taken over from an owner whose lease expired; held: another owner's
# lease is live; finished: ran to the end before (never run again).
ClaimState = Literal["new", "resumed", "held", "finished"]

LEASE_S = 10.0  # an owner that has not renewed for this long is taken for dead
HEARTBEAT_S = 2.0  # how often a running job renews its lease

# This process's owner id: a restarted process is a new owner, so it never mistakes a dead run for its own.
PROCESS_OWNER = f"{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None
    detail: str
    owner: str = ""
    lease_until: datetime | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    run: JobRun

    @property
    def acquired(self) -> bool:
        """This caller holds the lease now and runs the job."""
        return self.state in ("new", "resumed")


def _run(r: Record) -> JobRun:
    return JobRun(
        r["job"], r["scheduled_for"], r["started_at"], r["finished_at"], r["outcome"], r["detail"],
        r["owner"], r["lease_until"], r["attempts"],
    )  # fmt: skip


class JobRepository:
    def __init__(self, db: Executor, account: int = 0) -> None:
        self._db = db
        self._account = account  # 0: the one account of a single-account process (migration 009)

    async def claim(
        self,
        job: str,
        scheduled_for: datetime,
        *,
        owner: str = PROCESS_OWNER,
        lease_s: float = LEASE_S,
        at: datetime | None = None,
    ) -> Claim:
        """Take the lease on this occurrence: new, or taken over when its owner's lease expired unfinished.
        Otherwise say why not: another owner's lease is live (held), or it ran to the end (finished)."""
        r = await self._db.fetchrow(
            """
            INSERT INTO job_runs (job, scheduled_for, started_at, owner, lease_until, heartbeat_at, account_id)
            VALUES ($1, $2, coalesce($3, now()), $4, now() + make_interval(secs => $5), now(), $6)
            ON CONFLICT (account_id, job, scheduled_for) DO UPDATE
                SET owner = excluded.owner, lease_until = excluded.lease_until, heartbeat_at = now(),
                    attempts = job_runs.attempts + 1
                WHERE job_runs.finished_at IS NULL AND (job_runs.lease_until IS NULL OR job_runs.lease_until < now())
            RETURNING *
            """,
            job,
            scheduled_for,
            at,
            owner,
            lease_s,
            self._account,
        )
        if r is not None:
            run = _run(r)
            return Claim("new" if run.attempts == 1 else "resumed", run)
        current = await self.get(job, scheduled_for)
        assert current is not None  # the conflict means the row exists; runs are never deleted
        return Claim("finished" if current.finished_at is not None else "held", current)

    async def claim_run(self, job: str, scheduled_for: datetime, at: datetime | None = None) -> bool:
        """True for the caller that gets to run this occurrence now (new, or taken over from a dead owner)."""
        return (await self.claim(job, scheduled_for, at=at)).acquired

    async def heartbeat(
        self, job: str, scheduled_for: datetime, *, owner: str = PROCESS_OWNER, lease_s: float = LEASE_S
    ) -> bool:
        """Renew the lease; False when this owner no longer holds the run (taken over, or finished)."""
        renewed = await self._db.fetchval(
            """
            UPDATE job_runs SET lease_until = now() + make_interval(secs => $4), heartbeat_at = now()
            WHERE job = $1 AND scheduled_for = $2 AND owner = $3 AND finished_at IS NULL AND account_id = $5
            RETURNING true
            """,
            job,
            scheduled_for,
            owner,
            lease_s,
            self._account,
        )
        return renewed is not None

    async def finish(
        self,
        job: str,
        scheduled_for: datetime,
        outcome: Outcome,
        detail: str = "",
        at: datetime | None = None,
        *,
        owner: str | None = None,
    ) -> bool:
        """Record the end of a run (only if `owner` still holds it, when given); False if nothing was recorded."""
        done = await self._db.fetchval(
            """
            UPDATE job_runs SET finished_at = coalesce($5, now()), outcome = $3, detail = $4, lease_until = NULL
            WHERE job = $1 AND scheduled_for = $2 AND ($6::text IS NULL OR owner = $6) AND account_id = $7
            RETURNING true
            """,
            job,
            scheduled_for,
            outcome,
            detail,
            at,
            owner,
            self._account,
        )
        return done is not None

    async def get(self, job: str, scheduled_for: datetime) -> JobRun | None:
        r = await self._db.fetchrow(
            "SELECT * FROM job_runs WHERE job = $1 AND scheduled_for = $2 AND account_id = $3",
            job,
            scheduled_for,
            self._account,
        )
        return None if r is None else _run(r)

    async def unfinished(self, since: datetime) -> list[JobRun]:
        """Runs started for `since` or later that never finished (a live owner's, or a dead one's)."""
        rows = await self._db.fetch(
            """
            SELECT * FROM job_runs WHERE finished_at IS NULL AND scheduled_for >= $1 AND account_id = $2
            ORDER BY scheduled_for, id
            """,
            since,
            self._account,
        )
        return [_run(r) for r in rows]

    async def last_run(self, job: str) -> JobRun | None:
        r = await self._db.fetchrow(
            "SELECT * FROM job_runs WHERE job = $1 AND account_id = $2 ORDER BY scheduled_for DESC LIMIT 1",
            job,
            self._account,
        )
        return None if r is None else _run(r)

    async def recent(self, limit: int = 20) -> list[JobRun]:
        rows = await self._db.fetch(
            "SELECT * FROM job_runs WHERE account_id = $2 ORDER BY scheduled_for DESC, id DESC LIMIT $1",
            limit,
            self._account,
        )
        return [_run(r) for r in rows]
