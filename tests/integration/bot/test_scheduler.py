"""The scheduler: every job registered in code (replace_existing), session times from the calendar
(early-close flatten), each occurrence claimed once in job_runs across a restart, late runs within
the misfire grace run once and later ones do not (APScheduler and the clock driver alike)."""

from __future__ import annotations

import asyncio
import time as walltime
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent

from bot.scheduler import Scheduler
from trading.calendar import TradingDay, ny, trading_day
from trading.clock import LiveClock, SimClock
from trading.config import Settings
from trading.engine.jobs import Jobs, day_plan, run_once
from trading.engine.runner import ClockDriver
from trading.store import Store

WAIT_S = 10.0


class StubJobs:
    """Records which session jobs ran (the scheduler only calls these)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def session(self, job: str, day: TradingDay) -> Any:
        async def run() -> str:
            self.ran.append(job)
            return f"{job} {day.date}"

        return run

    async def backfill(self) -> str:
        return "backfill"

    async def token_refresh(self) -> str:
        return "token"

    async def health(self) -> str:
        return "health"


async def drive(clock: SimClock, task: asyncio.Task[None]) -> None:
    """Move the clock 5 minutes at a time (the misfire grace), only while the driver sleeps on it."""
    deadline = walltime.monotonic() + WAIT_S
    while not task.done():
        assert walltime.monotonic() < deadline, "the driver did not finish"
        if clock.sleepers:
            await clock.advance_and_settle(timedelta(minutes=5))
        else:
            await asyncio.sleep(0.005)
    await task


def scheduler(store: Store, clock: Any, stub: StubJobs) -> Scheduler:
    return Scheduler(Settings(), store, clock, cast(Jobs, stub))


async def test_jobs_are_registered_in_new_york_time_and_replaced_not_duplicated(store: Store) -> None:
    clock = SimClock(ny(date(2026, 2, 10), time(8, 0)))
    sched = scheduler(store, clock, StubJobs())
    sched.aps.start(paused=True)  # registered into the job store, nothing fires
    try:
        sched.register()
        sched.register()  # registering again (a restart of the component): replaced, not added twice
        ids = sorted(j.id for j in sched.aps.get_jobs())
    finally:
        sched.shutdown()
    assert ids == sorted(
        ["plan", "backfill", "token_refresh", "health", "pre_open", "open", "last_entry", "flatten", "summary"]
    )
    open_job = sched.aps.get_job("open")
    assert open_job is not None
    assert open_job.trigger.run_date == ny(date(2026, 2, 10), time(9, 30))
    assert str(sched.aps.timezone) == "America/New_York"
    assert str(sched.aps.get_job("backfill").trigger.timezone) == "America/New_York"
    assert sched.aps.get_job("flatten").trigger.run_date == ny(date(2026, 2, 10), time(15, 55))
    assert sched.aps._job_defaults["coalesce"] is True  # several missed runs collapse into one
    assert sched.aps._job_defaults["misfire_grace_time"] == Settings().scheduler.misfire_grace_s


async def test_flatten_moves_to_five_minutes_before_an_early_close(store: Store) -> None:
    friday = date(2026, 11, 27)  # the day after Thanksgiving: NYSE closes at 13:00
    plan = {o.job: o.at for o in day_plan(trading_day(friday), Settings())}
    assert plan["flatten"] == ny(friday, time(12, 55))
    assert plan["open"] == ny(friday, time(9, 30))
    sched = scheduler(store, SimClock(ny(friday, time(7, 0))), StubJobs())
    sched.register()
    assert sched.aps.get_job("flatten").trigger.run_date == ny(friday, time(12, 55))


async def test_an_occurrence_runs_once_across_a_restart_and_is_recorded(store: Store) -> None:
    at = ny(date(2026, 2, 10), time(9, 30))
    clock = SimClock(at + timedelta(seconds=1))
    first, second = StubJobs(), StubJobs()
    assert await run_once(store, clock, "open", at, first.session("open", trading_day(date(2026, 2, 10)))) == "ok"
    # a second process (or the same one restarted) reaching the same occurrence
    assert await run_once(store, clock, "open", at, second.session("open", trading_day(date(2026, 2, 10)))) is None
    assert (first.ran, second.ran) == (["open"], [])
    run = await store.jobs.get("open", at)
    assert run is not None and run.outcome == "ok" and run.finished_at is not None and run.started_at is not None
    assert run.detail == "open 2026-02-10"


async def test_a_failing_job_is_recorded_failed_with_an_alert(store: Store) -> None:
    at = datetime(2026, 2, 10, 21, 15, tzinfo=UTC)

    async def boom() -> str:
        raise RuntimeError("no summary today")

    assert await run_once(store, SimClock(at), "summary", at, boom) == "failed"
    run = await store.jobs.get("summary", at)
    assert run is not None and run.outcome == "failed" and "no summary today" in run.detail
    assert any(m.payload.get("title") == "Job summary failed" for m in await store.outbox.recent(10))


async def test_clock_driver_runs_a_slightly_late_open_and_skips_one_past_the_grace(store: Store) -> None:
    day = trading_day(date(2026, 2, 10))
    settings = Settings()
    # restarted at 09:31: pre-open (6 min late) is past the 5-minute grace, the open (1 min) is not
    clock = SimClock(day.rth_open + timedelta(minutes=1))
    stub = StubJobs()
    driver = ClockDriver(cast(Any, type("E", (), {"store": store})()), cast(Jobs, stub), settings, clock)
    await drive(clock, asyncio.create_task(driver.run(days=1)))
    assert stub.ran == ["open", "last_entry", "flatten", "summary"]
    pre = await store.jobs.get("pre_open", day.at(time(9, 25)))
    assert pre is not None and pre.outcome == "skipped"
    # started again at 09:32 the same day: the open is claimed, nothing runs twice
    again = StubJobs()
    clock2 = SimClock(day.rth_open + timedelta(minutes=2))
    driver2 = ClockDriver(cast(Any, type("E", (), {"store": store})()), cast(Jobs, again), settings, clock2)
    await drive(clock2, asyncio.create_task(driver2.run(days=1)))
    assert again.ran == []


async def test_apscheduler_runs_a_late_job_within_the_grace_and_drops_a_later_one(store: Store) -> None:
    """On the wall clock: an open 2 s late runs once; a flatten an hour late is missed, not run."""
    now = datetime.now(UTC)
    today = trading_day(date(2026, 2, 10))
    late = TradingDay(
        today.date, today.window_start, today.window_end, now - timedelta(seconds=2), today.rth_close,
        now - timedelta(hours=1), today.cme,
    )  # fmt: skip
    stub = StubJobs()
    sched = scheduler(store, LiveClock(), stub)
    seen: list[tuple[str, int]] = []

    def listen(event: JobEvent) -> None:
        seen.append((event.job_id, event.code))

    sched.aps.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    sched.aps.start()
    try:
        # only the open and the flatten matter here; the plan's other times are hours away or long past
        plan = {o.job: o.at for o in day_plan(late, Settings())}
        for job in ("open", "flatten"):
            sched.aps.add_job(
                sched._session, "date", run_date=plan[job], args=[job, plan[job], late], id=job, replace_existing=True
            )
        deadline = walltime.monotonic() + WAIT_S
        while not ({("open", EVENT_JOB_EXECUTED), ("flatten", EVENT_JOB_MISSED)} <= set(seen)):
            assert walltime.monotonic() < deadline, seen
            await asyncio.sleep(0.02)
    finally:
        sched.shutdown()
    assert stub.ran == ["open"]
    assert await store.jobs.get("flatten", plan["flatten"]) is None
    run = await store.jobs.get("open", plan["open"])
    assert run is not None and run.outcome == "ok"
