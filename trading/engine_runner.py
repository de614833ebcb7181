"""Running an engine for real: paper (the simulator) or live, with the jobs driven by a clock.

`ClockDriver` is the second driver of the job functions (the first is APScheduler in
`bot/scheduler.py`): it sleeps on the engine's clock (a `SimClock` in paper replays and tests, the
`LiveClock` otherwise) until each occurrence of the day plan, runs it once (claimed in `job_runs`),
and lets an occurrence that is late by more than the misfire grace go (recorded as skipped), so a
restart never runs an open twice nor runs it hours late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, timedelta

from trading.calendar import NotATradingDay, TradingDay, next_trading_day, to_ny, trading_day
from trading.clock import Clock
from trading.config import Settings
from trading.engine import Engine, current_trading_day
from trading.engine_jobs import Jobs, day_plan, run_once
from trading.store import Store

log = logging.getLogger(__name__)


class ClockDriver:
    def __init__(self, engine: Engine, jobs: Jobs, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.jobs = jobs
        self.settings = settings
        self.clock = clock
        self.grace = timedelta(seconds=settings.scheduler.misfire_grace_s)
        self.ran: list[tuple[str, str]] = []  # (job, outcome) in order, for callers and tests

    async def run(self, days: int | None = None) -> None:
        """Drive the day plans from today on (`days` of them, or forever)."""
        day = current_trading_day(self.clock.now())
        done = 0
        while day is not None and (days is None or done < days):
            for occ in sorted(day_plan(day, self.settings), key=lambda o: o.at):
                now = self.clock.now()
                if occ.at < now - self.grace:
                    claimed = await self.engine.store.jobs.claim_run(occ.job, occ.at, at=now)
                    if claimed:
                        await self.engine.store.jobs.finish(
                            occ.job, occ.at, "skipped", f"missed by {now - occ.at} (grace {self.grace})", at=now
                        )
                        self.ran.append((occ.job, "skipped"))
                    continue
                await self.clock.sleep_until(occ.at)
                outcome = await run_once(
                    self.engine.store, self.clock, occ.job, occ.at, self.jobs.session(occ.job, day)
                )
                self.ran.append((occ.job, outcome or "claimed before"))
            done += 1
            day = _next_day(day.date)


def _next_day(d: date) -> TradingDay | None:
    try:
        return trading_day(next_trading_day(d))
    except NotATradingDay:  # pragma: no cover - next_trading_day returns trading days
        return None


async def deliver_console(store: Store, write: Callable[[str], None], every_s: float, clock: Clock) -> None:
    """Headless notifications without the bot: print the outbox (used by paper runs and the demo)."""
    from trading.demo import describe

    while True:
        while batch := await store.outbox.claim_batch(100):
            for m in batch:
                write(f"[{m.channel}] {describe(m.kind, m.payload)}")
                await store.outbox.mark_sent(m.id)
        await asyncio.sleep(every_s)


async def run_until(stop: asyncio.Event, *tasks: asyncio.Task[object]) -> None:
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


def describe_now(clock: Clock) -> str:
    return f"{to_ny(clock.now()):%Y-%m-%d %H:%M:%S} New York"
