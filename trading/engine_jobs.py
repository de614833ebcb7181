"""The scheduled jobs of a trading day, as plain async functions over the engine, and the rule that
each (job, scheduled time) runs once, recorded in `job_runs` (start, end, outcome).

Two drivers call these same functions: `bot/scheduler.py` (APScheduler on the wall clock) and the
demo/paper driver (a simulated clock). Jobs call the engine, never the broker directly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from trading import notifications
from trading.calendar import TradingDay
from trading.clock import Clock
from trading.config import Settings
from trading.domain import NotificationKind
from trading.store import Store
from trading.store.jobs import Outcome
from trading.strategies.base import SessionEvent

if TYPE_CHECKING:
    from trading.engine import Engine

log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[str]]

SESSION_JOBS: dict[str, SessionEvent] = {
    "pre_open": SessionEvent.PRE_OPEN,
    "open": SessionEvent.OPEN,
    "last_entry": SessionEvent.LAST_ENTRY,
    "flatten": SessionEvent.FLATTEN,
    "summary": SessionEvent.SUMMARY,
}


@dataclass(frozen=True, slots=True)
class Occurrence:
    job: str
    at: datetime  # UTC


def day_plan(day: TradingDay, settings: Settings) -> list[Occurrence]:
    """When the session jobs of `day` run (flatten from the calendar: early-close aware)."""
    c = settings.strategies.overnight_range
    return [
        Occurrence("pre_open", day.at(c.pre_open)),
        Occurrence("open", day.rth_open),
        Occurrence("last_entry", day.at(c.last_entry_time)),
        Occurrence("flatten", day.flatten),
        Occurrence("summary", day.at(c.summary)),
    ]


async def run_once(store: Store, clock: Clock, job: str, scheduled_for: datetime, fn: JobFn) -> Outcome | None:
    """Run `fn` if this occurrence was not claimed before (by this or any process); record the outcome.
    None when it was already claimed (a restart, a second scheduler, a coalesced misfire)."""
    if not await store.jobs.claim_run(job, scheduled_for, at=clock.now()):
        log.info("job %s for %s already claimed: not run again", job, scheduled_for.isoformat())
        return None
    outcome: Outcome = "ok"
    try:
        detail = await fn()
    except Exception as exc:
        log.exception("job %s failed", job)
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
        await store.outbox.enqueue(NotificationKind.ALERT, dict(notifications.alert(f"Job {job} failed", detail)))
    await store.jobs.finish(job, scheduled_for, outcome, detail[:2000], at=clock.now())
    return outcome


class Jobs:
    """The job functions of one engine."""

    def __init__(self, engine: Engine, chart_dir: Path | None = None) -> None:
        self.engine = engine
        self.chart_dir = chart_dir
        self.charts: list[Path] = []
        self.summary_text = ""

    def session(self, job: str, day: TradingDay) -> JobFn:
        event = SESSION_JOBS[job]

        async def run() -> str:
            await self.engine.session_event(event, day)
            detail = f"{event.value} {day.date.isoformat()}"
            if event is SessionEvent.PRE_OPEN and self.chart_dir is not None:
                self.charts += await self.range_charts(day)
            if event is SessionEvent.SUMMARY:
                self.summary_text = await self.daily_summary(day)
            return detail

        return run

    async def range_charts(self, day: TradingDay) -> list[Path]:
        from trading.engine_charts import range_chart

        assert self.chart_dir is not None
        out = []
        for sym in self.engine.contracts:
            bars = self.engine.bar_cache(sym).window(day.window_start, day.window_end, self.engine.clock.now())
            path = self.chart_dir / f"range-{sym}-{day.date.isoformat()}.png"
            range_chart(bars, sym, day, path)
            out.append(path)
            chart = notifications.chart(sym, day.date.isoformat(), str(path))
            await self.engine.store.outbox.enqueue(NotificationKind.STRATEGY, dict(chart))
        return out

    async def daily_summary(self, day: TradingDay) -> str:
        from trading.engine_summary import summary_payload

        payload = await summary_payload(self.engine, day)
        await self.engine.store.outbox.enqueue(NotificationKind.SUMMARY, payload)
        await self.engine.metrics.flush()
        text: str = payload["text"]
        return text

    async def backfill(self) -> str:
        e = self.engine
        now = e.clock.now()
        n = 0
        for sym in e.contracts:
            start = (e.bar_cache(sym).latest or now - timedelta(days=3)) - timedelta(minutes=5)
            n += await e.backfill(sym, start, now)
        return f"{n} bars"

    async def token_refresh(self) -> str:
        await self.engine.refresh_token()
        return "token refreshed"

    async def health(self) -> str:
        ok = await self.engine.healthy()
        if not ok:
            await self.engine.store.outbox.enqueue(
                NotificationKind.ALERT, dict(notifications.alert("Health check failed", "broker or account feed down"))
            )
        await self.engine.metrics.flush()
        return "healthy" if ok else "broker or account feed down"
