"""The scheduled jobs of a trading day, as plain async functions over the engine, and the rule that
each (job, scheduled time) runs to its end once, recorded in `job_runs` (start, end, outcome).

A run is held under a lease renewed by a heartbeat while it runs (`trading/store/jobs.py`): if its
process dies mid-job, the next caller (the restarted process, or a standby that took the account
over) takes the expired lease and runs the job again. Jobs are written to be resumed: the open job
places only the entries that are missing, by their deterministic customTags.

Two drivers call these same functions: `bot/scheduler.py` (APScheduler on the wall clock) and the
demo/paper driver (a simulated clock). Jobs call the engine, never the broker directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from trading import charts, notifications
from trading.calendar import TradingDay
from trading.clock import Clock
from trading.config import Settings
from trading.domain import NotificationKind
from trading.engine.core import Engine
from trading.engine.summary import summary_payload
from trading.store import Store
from trading.store.jobs import HEARTBEAT_S, LEASE_S, PROCESS_OWNER, Outcome
from trading.strategies.base import SessionEvent

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


async def run_once(
    store: Store,
    clock: Clock,
    job: str,
    scheduled_for: datetime,
    fn: JobFn,
    *,
    owner: str = PROCESS_OWNER,
    lease_s: float = LEASE_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> Outcome | None:
    """Run `fn` under the lease of this occurrence unless it ran to its end before (by this or any
    process); record the outcome. A run another owner holds is waited for (until it finishes or its
    lease lapses, then taken over); a run whose owner died is resumed. None when it had finished
    before (a restart, a second scheduler, a coalesced misfire) or the lease was lost mid-run."""
    while True:
        claim = await store.jobs.claim(job, scheduled_for, owner=owner, lease_s=lease_s, at=clock.now())
        if claim.acquired:
            break
        if claim.state == "finished":
            log.info("job %s for %s already ran: not run again", job, scheduled_for.isoformat())
            return None
        log.info(
            "job %s for %s is held by %s until %s: waiting", job, scheduled_for.isoformat(), claim.run.owner,
            claim.run.lease_until,
        )  # fmt: skip
        await asyncio.sleep(heartbeat_s)  # wall time: leases are on the database's clock
    if claim.state == "resumed":
        log.warning(
            "job %s for %s: its owner stopped renewing the lease; resuming it (attempt %d)",
            job, scheduled_for.isoformat(), claim.run.attempts,
        )  # fmt: skip
    work = asyncio.ensure_future(fn())
    keeper = asyncio.create_task(_keep_lease(store, job, scheduled_for, owner, lease_s, heartbeat_s, work))
    outcome: Outcome = "ok"
    try:
        detail = await work
    except asyncio.CancelledError:
        if not keeper.done() or keeper.result() is not False:
            raise  # cancelled from outside: the lease lapses and the next caller resumes the job
        log.error("job %s for %s lost its lease to another owner: stopped here", job, scheduled_for.isoformat())
        return None
    except Exception as exc:
        log.exception("job %s failed", job)
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
        await store.outbox.enqueue(NotificationKind.ALERT, dict(notifications.alert(f"Job {job} failed", detail)))
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    if not await store.jobs.finish(job, scheduled_for, outcome, detail[:2000], at=clock.now(), owner=owner):
        log.warning("job %s for %s was taken over by another owner before it finished here", job, scheduled_for)
    return outcome


async def _keep_lease(
    store: Store, job: str, at: datetime, owner: str, lease_s: float, every_s: float, work: asyncio.Future[str]
) -> bool:
    """Renew the lease while `work` runs; if another owner took the run over, stop `work` (never two
    running one job) and return False."""
    while True:
        await asyncio.sleep(every_s)
        try:
            held = await store.jobs.heartbeat(job, at, owner=owner, lease_s=lease_s)
        except Exception as exc:  # the database is away: keep trying; the lease lapses only if it stays away
            log.warning("heartbeat of job %s failed: %s", job, exc)
            continue
        if not held:
            work.cancel()
            return False


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
        """One candlestick chart per symbol of the overnight window so far, with the levels of every
        strategy that draws them (named and priced as on its range card), written as PNG off the loop."""
        assert self.chart_dir is not None
        out = []
        now = self.engine.clock.now()
        for sym, contract in self.engine.contracts.items():
            bars = self.engine.bar_cache(sym).window(day.window_start, day.window_end, now)
            levels = [
                charts.Level(name, price, charts.LEVEL_COLORS.get(name, charts.RANGE))
                for strategy in self.engine.strategies.values()
                if isinstance(strategy, charts.DrawsLevels)
                for name, price in strategy.chart_levels(sym, day, now)
            ]
            path = self.chart_dir / f"range-{sym}-{day.date.isoformat()}.png"
            png = await asyncio.to_thread(
                charts.candles_png,
                f"{sym} overnight range {day.date.isoformat()}",
                charts.Candles.of_columns(bars),
                tick_size=contract.tick_size,
                levels=levels,
                window=(day.window_start, day.window_end),
                open_at=day.rth_open,
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_bytes, png)
            out.append(path)
            chart = notifications.chart(sym, day.date.isoformat(), str(path))
            await self.engine.store.outbox.enqueue(NotificationKind.STRATEGY, dict(chart))
        return out

    async def daily_summary(self, day: TradingDay) -> str:
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
            start = (e.bar_cache(sym).latest or now - timedelta(days=e.settings.scheduler.backfill_days)) - timedelta(
                minutes=5
            )
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
