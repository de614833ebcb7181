"""APScheduler 3.11 on the wall clock, in exchange time (America/New_York): the first driver of the
job functions in `trading/engine_jobs.py` (the second is `trading.engine_runner.ClockDriver`).

- Jobs are registered in code at start, each with `replace_existing=True` (a restart replaces, never
  duplicates), `coalesce=True` and `misfire_grace_time` from `[scheduler]`: a restart shortly after
  09:30 still opens, a restart hours later does not, and several missed runs collapse into one.
- The session jobs of a trading day (pre-open, open, last entry, flatten, summary) are registered as
  date triggers from the calendar (`day_plan`), so the flatten moves to 12:55 on an early close. A
  cron job at 00:05 New York (and the start itself) plans the next trading day.
- Every run goes through `run_once`: claimed once per (job, scheduled time) in `job_runs`, with its
  start, end and outcome. APScheduler's own store stays in memory: Postgres is the record.
- Bar backfill (cron), token refresh and health check (intervals) call the engine too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from trading.calendar import NotATradingDay, TradingDay, next_trading_day, to_ny, trading_day
from trading.clock import Clock
from trading.config import Settings
from trading.engine import current_trading_day
from trading.engine_jobs import JobFn, Jobs, day_plan, run_once
from trading.store import Store

log = logging.getLogger(__name__)

TZ = "America/New_York"


class Scheduler:
    def __init__(self, settings: Settings, store: Store, jobs: Jobs, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.clock = clock
        s = settings.scheduler
        self.aps = AsyncIOScheduler(
            timezone=TZ,
            job_defaults={"coalesce": True, "misfire_grace_time": s.misfire_grace_s, "max_instances": 1},
        )

    # ------------------------------------------------------------------ registration
    def register(self) -> None:
        """Every job, in code; safe to call again (each id is replaced)."""
        s = self.settings.scheduler
        self.aps.add_job(
            self.plan_next,
            CronTrigger(hour=0, minute=5, timezone=TZ),
            id="plan",
            name="plan the trading day's session jobs",
            replace_existing=True,
        )
        bt = s.backfill_time
        self.aps.add_job(
            self._recurring,
            CronTrigger(day_of_week="mon-fri", hour=bt.hour, minute=bt.minute, timezone=TZ),
            args=["backfill", self.jobs.backfill],
            id="backfill",
            name="bar backfill",
            replace_existing=True,
        )
        self.aps.add_job(
            self._recurring,
            IntervalTrigger(hours=s.token_refresh_hours, timezone=TZ),
            args=["token_refresh", self.jobs.token_refresh],
            id="token_refresh",
            name="token refresh",
            replace_existing=True,
        )
        self.aps.add_job(
            self._recurring,
            IntervalTrigger(seconds=s.health_interval_s, timezone=TZ),
            args=["health", self.jobs.health],
            id="health",
            name="health check",
            replace_existing=True,
        )
        self.plan(current_trading_day(self.clock.now()))

    def plan(self, day: TradingDay | None) -> list[str]:
        """Register the session jobs of `day` (date triggers at calendar times); their ids."""
        if day is None:
            return []
        ids = []
        for occ in day_plan(day, self.settings):
            job_id = f"{occ.job}"
            self.aps.add_job(
                self._session,
                DateTrigger(run_date=occ.at, timezone=TZ),
                args=[occ.job, occ.at, day],
                id=job_id,
                name=f"{occ.job} {day.date.isoformat()}",
                replace_existing=True,
            )
            ids.append(job_id)
        return ids

    async def plan_next(self) -> None:
        """00:05 New York: plan today's session jobs (or the next trading day's)."""
        local = to_ny(self.clock.now()).date()
        d = local
        try:
            day = trading_day(d)
        except NotATradingDay:
            day = trading_day(next_trading_day(d))
        self.plan(day)

    # ------------------------------------------------------------------ runs
    async def _session(self, job: str, at: datetime, day: TradingDay) -> None:
        await run_once(self.store, self.clock, job, at, self.jobs.session(job, day))

    async def _recurring(self, job: str, fn: JobFn) -> None:
        # A recurring job's occurrence is its scheduled minute: two schedulers never both run it.
        at = self.clock.now().replace(second=0, microsecond=0)
        await run_once(self.store, self.clock, job, at, fn)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.register()
        self.aps.start()

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def jobs_table(self) -> list[dict[str, Any]]:
        return [
            {"id": j.id, "name": j.name, "next_run": getattr(j, "next_run_time", None)} for j in self.aps.get_jobs()
        ]
