"""Headless (no Discord token) the bot runs the same scheduled jobs as with Discord: the ones issue 5
lists, at their New York times, with the bot's daily latency report."""

from __future__ import annotations

from datetime import date, time
from types import SimpleNamespace
from typing import cast

from bot.run import Wiring, jobs_scheduler
from trading.calendar import ny
from trading.clock import SimClock
from trading.config import Settings
from trading.engine import Engine
from trading.services import Services
from trading.store import Store

DAY = date(2026, 2, 10)


async def test_headless_registers_the_session_and_housekeeping_jobs(store: Store) -> None:
    clock = SimClock(ny(DAY, time(8, 0)))
    settings = Settings()
    # The jobs and services only hold the engine until they run; nothing runs here.
    engine = cast(Engine, SimpleNamespace(settings=settings, store=store, client=None, clock=clock, account_id=1))
    sched = jobs_scheduler(settings, store, Wiring(Services(engine), engine), clock)
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
