"""Headless (no Discord token) the bot runs the same scheduled jobs as with Discord: the ones issue 5
lists, at their New York times, with the bot's daily latency report."""

from __future__ import annotations

from datetime import date, time
from typing import cast

from bot.run import Wiring, jobs_scheduler
from trading.calendar import ny
from trading.clock import SimClock
from trading.config import Settings
from trading.engine import Engine
from trading.projectx.rest import ProjectXClient
from trading.services import Services
from trading.store import Store

DAY = date(2026, 2, 10)


async def test_headless_registers_the_session_and_housekeeping_jobs(store: Store) -> None:
    clock = SimClock(ny(DAY, time(8, 0)))
    settings = Settings()
    services = Services(settings, store, cast(ProjectXClient, None), clock)
    engine = cast(Engine, object())  # the jobs only hold it until they run; nothing runs here
    sched = jobs_scheduler(settings, store, Wiring(services, engine), clock)
    sched.aps.start(paused=True)
    try:
        sched.register()
        ids = sched.jobs()
        runs = {j: sched.aps.get_job(j).trigger.run_date for j in ("pre_open", "open", "flatten", "summary")}
    finally:
        sched.shutdown()
    issue_5 = ["pre_open", "open", "flatten", "summary", "backfill", "token_refresh", "health"]
    assert ids == sorted([*issue_5, "last_entry", "plan", "latency_report"])
    assert runs == {
        "pre_open": ny(DAY, time(9, 25)),
        "open": ny(DAY, time(9, 30)),
        "flatten": ny(DAY, time(15, 55)),
        "summary": ny(DAY, time(16, 15)),
    }


async def test_without_an_engine_only_the_bots_own_report_is_scheduled(store: Store) -> None:
    clock = SimClock(ny(DAY, time(8, 0)))
    settings = Settings()
    services = Services(settings, store, cast(ProjectXClient, None), clock)
    sched = jobs_scheduler(settings, store, Wiring(services, None), clock)
    sched.aps.start(paused=True)
    try:
        sched.register()
        assert sched.jobs() == ["latency_report"]
    finally:
        sched.shutdown()
