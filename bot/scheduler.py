"""APScheduler 3.11 on the wall clock, in exchange time (America/New_York): the first driver of the
job functions in `trading/engine/jobs.py` (the second is `trading.engine.runner.ClockDriver`).

- Jobs are registered in code at start, each with `replace_existing=True` (a restart replaces, never
  duplicates), `coalesce=True` and `misfire_grace_time` from `[scheduler]`: a restart shortly after
  09:30 still opens, a restart hours later does not, and several missed runs collapse into one.
- The session jobs of a trading day (pre-open, open, last entry, flatten, summary) are registered as
  date triggers from the calendar (`day_plan`), so the flatten moves to 12:55 on an early close. A
  cron job at 00:05 New York (and the start itself) plans the next trading day.
- Every run goes through `run_once`: held under a lease per (job, scheduled time) in `job_runs`, with
  its start, end and outcome. APScheduler's own store stays in memory: Postgres is the record.
- At start (`resume`, once), a session job that a process started and never finished (it died mid-job) is
  run again however late (it was started in time): its lease lapses, this process takes it over.
- Bar backfill (cron), token refresh and health check (intervals) call the engine too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from trading.calendar import NotATradingDay, TradingDay, is_trading_day, next_trading_day, ny, to_ny, trading_day
from trading.clock import Clock
from trading.config import Settings
from trading.engine import current_trading_day
from trading.engine.jobs import SESSION_JOBS, JobFn, Jobs, day_plan, run_once
from trading.services import Services
from trading.store import Store
from trading.store.jobs import Outcome

DailyFn = Callable[[date], Awaitable[str]]

log = logging.getLogger(__name__)

TZ = "America/New_York"


class Scheduler:
    def __init__(self, settings: Settings, store: Store, clock: Clock, jobs: Jobs | None = None) -> None:
        self.settings = settings
        self.store = store
        self.jobs_of_engine = jobs
        self.clock = clock
        s = settings.scheduler
        self.aps = AsyncIOScheduler(
            timezone=TZ,
            job_defaults={"coalesce": True, "misfire_grace_time": s.misfire_grace_s, "max_instances": 1},
        )
        self._daily: dict[str, tuple[time, DailyFn]] = {}

    # ------------------------------------------------------------------ registration
    def add_daily(self, name: str, at: time, fn: DailyFn) -> None:
        """A job at New York wall time `at` on every trading day, `fn(day)`; claimed once per day."""
        self._daily[name] = (at, fn)
        self.aps.add_job(
            self._run_daily,
            CronTrigger(day_of_week="mon-fri", hour=at.hour, minute=at.minute, timezone=TZ),
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
        )

    async def _run_daily(self, name: str) -> None:
        at, fn = self._daily[name]
        if is_trading_day(to_ny(self.clock.now()).date()):
            await self.run(name, at, fn)

    async def run(self, name: str, at: time | datetime, fn: DailyFn) -> Outcome | None:
        """Run `fn` for today's occurrence of `at` (or the exact time given), once: None when it was
        already claimed."""
        today = to_ny(self.clock.now()).date()
        scheduled = at if isinstance(at, datetime) else ny(today, at)
        day = to_ny(scheduled).date()

        async def job() -> str:
            return await fn(day)

        return await run_once(self.store, self.clock, name, scheduled, job)

    def jobs(self) -> list[str]:
        """Ids of the registered jobs."""
        return sorted({j.id for j in self.aps.get_jobs()})

    def attach_engine(self, jobs: Jobs) -> None:
        """Add the engine's jobs (session jobs, backfill, token refresh, health) to a running or new scheduler."""
        self.jobs_of_engine = jobs
        self.register()
        if self.aps.running:
            self._schedule_resume()

    def register(self) -> None:
        """Every engine job, in code; safe to call again (each id is replaced)."""
        if self.jobs_of_engine is None:
            return
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
            args=["backfill", self.jobs_of_engine.backfill],
            id="backfill",
            name="bar backfill",
            replace_existing=True,
        )
        self.aps.add_job(
            self._recurring,
            IntervalTrigger(hours=s.token_refresh_hours, timezone=TZ),
            args=["token_refresh", self.jobs_of_engine.token_refresh],
            id="token_refresh",
            name="token refresh",
            replace_existing=True,
        )
        self.aps.add_job(
            self._recurring,
            IntervalTrigger(seconds=s.health_interval_s, timezone=TZ),
            args=["health", self.jobs_of_engine.health],
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

    async def resume_unfinished(self) -> list[str]:
        """Session jobs of the last day that were started and never finished (their process died), run
        again now, each once its owner's lease has lapsed; the jobs resumed."""
        assert self.jobs_of_engine is not None
        resumed = []
        for run in await self.store.jobs.unfinished(self.clock.now() - timedelta(days=1)):
            if run.job not in SESSION_JOBS:
                continue  # a recurring job simply runs at its next occurrence
            try:
                day = trading_day(to_ny(run.scheduled_for).date())
            except NotATradingDay:
                continue
            if not any(o.job == run.job and o.at == run.scheduled_for for o in day_plan(day, self.settings)):
                continue  # not an occurrence of today's plan (settings changed since): leave it
            fn = self.jobs_of_engine.session(run.job, day)
            await run_once(self.store, self.clock, run.job, run.scheduled_for, fn)
            resumed.append(run.job)
        return resumed

    # ------------------------------------------------------------------ runs
    async def _session(self, job: str, at: datetime, day: TradingDay) -> None:
        assert self.jobs_of_engine is not None
        await run_once(self.store, self.clock, job, at, self.jobs_of_engine.session(job, day))

    async def _recurring(self, job: str, fn: JobFn) -> None:
        # A recurring job's occurrence is its scheduled minute: two schedulers never both run it.
        at = self.clock.now().replace(second=0, microsecond=0)
        await run_once(self.store, self.clock, job, at, fn)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.register()
        if not self.aps.running:
            self.aps.start()
        self._schedule_resume()

    def _schedule_resume(self) -> None:
        if self.jobs_of_engine is not None:  # no trigger: runs once, now
            self.aps.add_job(self.resume_unfinished, id="resume", name="resume unfinished jobs", replace_existing=True)

    def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def table(self) -> list[dict[str, Any]]:
        return [
            {"id": j.id, "name": j.name, "next_run": getattr(j, "next_run_time", None)} for j in self.aps.get_jobs()
        ]


def default_scheduler(settings: Settings, store: Store, services: Services, clock: Clock) -> Scheduler:
    """The bot's scheduler: the daily latency report; the engine's jobs join with `attach_engine`."""
    from bot.reports import latency_report

    sched = Scheduler(settings, store, clock)

    async def report(day: date) -> str:
        return await latency_report(services, day)

    sched.add_daily("latency_report", settings.scheduler.latency_report_time, report)
    return sched
