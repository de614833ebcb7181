"""A job run's claim is a lease with a heartbeat: a run whose owner died (its lease lapsed unfinished)
is taken over and run again, a finished run never is, a live owner's run is waited for, and a run
whose lease was taken over mid-job stops. An owner "dies" here by claiming with a lease already
expired (lease_s < 0): exactly what a killed process leaves behind once its lease has run out."""

from __future__ import annotations

import asyncio
import time as walltime
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from bot.scheduler import Scheduler
from tests.integration.bot.test_scheduler import StubJobs, drive
from trading.calendar import trading_day
from trading.clock import SimClock
from trading.config import Settings
from trading.engine.jobs import Jobs, run_once
from trading.engine.runner import ClockDriver
from trading.store import Store

AT = datetime(2026, 2, 10, 14, 30, tzinfo=UTC)  # 09:30 New York
DEAD = -1.0  # a lease that has already run out: its owner is gone
WAIT_S = 10.0


async def until(what: str, check: Any) -> None:
    deadline = walltime.monotonic() + WAIT_S
    while not await check():
        assert walltime.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_lapsed_lease_is_taken_over_once_and_a_finished_run_never_again(store: Store) -> None:
    first = await store.jobs.claim("open", AT, owner="a", lease_s=30)
    assert first.state == "new" and first.run.owner == "a" and first.run.attempts == 1
    assert (await store.jobs.claim("open", AT, owner="b")).state == "held"  # a's lease is live
    assert await store.jobs.heartbeat("open", AT, owner="a", lease_s=DEAD)  # then a stops renewing in time
    taken = await store.jobs.claim("open", AT, owner="b")
    assert taken.state == "resumed" and taken.run.owner == "b" and taken.run.attempts == 2
    assert taken.run.started_at == first.run.started_at  # still the run that started in time
    assert not await store.jobs.heartbeat("open", AT, owner="a")  # a, if it wakes up, knows it lost it
    assert not await store.jobs.finish("open", AT, "ok", owner="a")
    assert await store.jobs.finish("open", AT, "ok", "done by b", owner="b")
    again = await store.jobs.claim("open", AT, owner="c", lease_s=DEAD)
    assert again.state == "finished" and again.run.detail == "done by b"
    assert await store.jobs.unfinished(AT - timedelta(days=1)) == []


async def test_run_once_resumes_a_run_whose_owner_died(store: Store) -> None:
    assert (await store.jobs.claim("open", AT, owner="killed", lease_s=DEAD)).state == "new"
    ran: list[str] = []

    async def fn() -> str:
        ran.append("open")
        return "resumed"

    assert await run_once(store, SimClock(AT + timedelta(seconds=5)), "open", AT, fn) == "ok"
    run = await store.jobs.get("open", AT)
    assert run is not None and (run.outcome, run.attempts, run.finished_at is not None) == ("ok", 2, True)
    assert await run_once(store, SimClock(AT), "open", AT, fn) is None  # finished: never again
    assert ran == ["open"]


async def test_run_once_waits_for_a_live_owner_and_does_not_run_what_it_finished(store: Store) -> None:
    await store.jobs.claim("open", AT, owner="alive", lease_s=60)
    ran: list[str] = []

    async def fn() -> str:
        ran.append("open")
        return "twice?"

    waiter = asyncio.create_task(run_once(store, SimClock(AT), "open", AT, fn, heartbeat_s=0.02))
    await asyncio.sleep(0)
    assert not waiter.done()
    assert await store.jobs.heartbeat("open", AT, owner="alive", lease_s=60)  # still alive, still held
    assert await store.jobs.finish("open", AT, "ok", "by the live owner", owner="alive")
    assert await asyncio.wait_for(waiter, WAIT_S) is None
    assert ran == []


async def test_a_run_whose_lease_was_taken_over_stops_and_records_nothing(store: Store) -> None:
    started, never = asyncio.Event(), asyncio.Event()

    async def fn() -> str:
        started.set()
        await never.wait()
        return "should not finish here"

    task = asyncio.create_task(run_once(store, SimClock(AT), "open", AT, fn, owner="slow", heartbeat_s=0.02))
    await asyncio.wait_for(started.wait(), WAIT_S)
    # the owner's heartbeats did not reach the database for a lease's length: another owner took over
    await store.db.execute("UPDATE job_runs SET owner = 'next', attempts = 2 WHERE job = 'open'")
    assert await asyncio.wait_for(task, WAIT_S) is None
    run = await store.jobs.get("open", AT)
    assert run is not None and run.owner == "next" and run.finished_at is None


async def test_clock_driver_resumes_a_started_open_past_the_grace_but_skips_an_unstarted_one(store: Store) -> None:
    day = trading_day(date(2026, 2, 10))
    # the open was started at 09:30 by a process that died; this one starts at 09:50 (grace: 5 minutes)
    await store.jobs.claim("open", day.rth_open, owner="killed", lease_s=DEAD)
    clock = SimClock(day.rth_open + timedelta(minutes=20))
    stub = StubJobs()
    lines: list[str] = []
    driver = ClockDriver(
        cast(Any, type("E", (), {"store": store})()), cast(Jobs, stub), Settings(), clock, lines.append
    )
    await drive(clock, asyncio.create_task(driver.run(days=1)))
    assert stub.ran == ["open", "last_entry", "flatten", "summary"]
    # the console says what was missed, what ran, and what comes next, in New York time
    assert lines[0] == "job pre_open of Tue 09:25 ET skipped: missed by 25 min (grace 5 min)"
    assert lines[1] == "job open of Tue 09:30 ET: ok"
    assert lines[2] == "next job: last_entry at Tue 11:00 ET (in 1 h 10 min)"
    pre = await store.jobs.get("pre_open", day.at(time(9, 25)))
    assert pre is not None and pre.outcome == "skipped"
    run = await store.jobs.get("open", day.rth_open)
    assert run is not None and (run.outcome, run.attempts) == ("ok", 2)


async def test_the_scheduler_resumes_an_unfinished_session_job_at_start(store: Store) -> None:
    day = trading_day(date(2026, 2, 10))
    await store.jobs.claim("open", day.rth_open, owner="killed", lease_s=DEAD)
    await store.jobs.claim("health", day.rth_open + timedelta(minutes=1), owner="killed", lease_s=DEAD)
    stub = StubJobs()
    sched = Scheduler(Settings(), store, SimClock(day.rth_open + timedelta(hours=2)), cast(Jobs, stub))
    sched.start()  # hours past the grace: it was started in time, so it is resumed

    async def resumed() -> bool:
        run = await store.jobs.get("open", day.rth_open)
        return run is not None and run.outcome == "ok"

    try:
        await until("the open resumed", resumed)
    finally:
        sched.shutdown()
    assert stub.ran == ["open"]
    assert await sched.resume_unfinished() == []  # finished: never again
    left = await store.jobs.unfinished(day.window_start)
    assert [r.job for r in left] == ["health"]  # a recurring job just runs at its next occurrence
