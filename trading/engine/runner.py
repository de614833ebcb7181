"""Running an engine for real: paper (the simulator) or live, with the jobs driven by a clock.

`running_engine` is the one start-up of an account's engine (database, gateway, login, start, the
standby wait, teardown); `tradebot run` headless (`run_engine`, below) and the Discord application
(`bot/run.py`) are two drivers around it.

`ClockDriver` is the second driver of the job functions (the first is APScheduler in
`bot/scheduler.py`): it sleeps on the engine's clock (a `SimClock` in paper replays and tests, the
`LiveClock` otherwise) until each occurrence of the day plan, runs it once (claimed in `job_runs`),
and lets an occurrence that is late by more than the misfire grace go (recorded as skipped), so a
restart never runs an open twice nor runs it hours late. An occurrence that was started in time by a
process that died before finishing it is resumed however late (its lease lapses, this process takes
it over): the open job then places the entries that are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from trading.calendar import NotATradingDay, TradingDay, next_trading_day, to_ny, trading_day
from trading.clock import Clock, LiveClock, SimClock
from trading.config import Settings
from trading.engine.core import Engine, current_trading_day
from trading.engine.exporter import prometheus_endpoint
from trading.engine.jobs import Jobs, day_plan, run_once
from trading.engine.openbook import broker_book, left_open_lines
from trading.engine.setup import build_engine, gateway_for
from trading.metrics import LatencyMetrics
from trading.sim.options import SimOptions
from trading.store import Store, migrate, open_database

log = logging.getLogger(__name__)

# Delivers the outbox while the engine runs (entered around the run): the application provides it; the
# engine's metrics take the posted stage's samples.
Notifications = Callable[[Settings, Store, LatencyMetrics], contextlib.AbstractAsyncContextManager[object]]
# Serves `tradebot status|flatten|halt|resume` while the engine runs (entered once it has started):
# trading/services/commands.py provides it (the services sit above the engine, so it is passed in).
Control = Callable[[Engine], contextlib.AbstractAsyncContextManager[object]]
LEFT_OPEN_WAIT_S = 15.0  # reading what stays open at the broker on the way out never holds the exit longer


class ClockDriver:
    def __init__(
        self, engine: Engine, jobs: Jobs, settings: Settings, clock: Clock, write: Callable[[str], None] | None = None
    ) -> None:
        self.engine = engine
        self.jobs = jobs
        self.settings = settings
        self.clock = clock
        self.grace = timedelta(seconds=settings.scheduler.misfire_grace_s)
        self.ran: list[tuple[str, str]] = []  # (job, outcome) in order, for callers and tests
        # What an operator watching the console needs: each job as it runs, a missed one, the next one.
        self.write = write or (lambda _line: None)

    async def run(self, days: int | None = None) -> None:
        """Drive the day plans from today on (`days` of them, or forever)."""
        day = current_trading_day(self.clock.now())
        done = 0
        while day is not None and (days is None or done < days):
            for occ in sorted(day_plan(day, self.settings), key=lambda o: o.at):
                now = self.clock.now()
                if occ.at < now - self.grace and not await self._started_unfinished(occ.job, occ.at):
                    claimed = await self.engine.store.jobs.claim_run(occ.job, occ.at, at=now)
                    if claimed:
                        why = f"missed by {_span(now - occ.at)} (grace {_span(self.grace)})"
                        await self.engine.store.jobs.finish(occ.job, occ.at, "skipped", why, at=now)
                        self.ran.append((occ.job, "skipped"))
                        self.write(f"job {occ.job} of {_et(occ.at)} skipped: {why}")
                    continue
                if occ.at > now:
                    self.write(f"next job: {occ.job} at {_et(occ.at)} (in {_span(occ.at - now)})")
                await self.clock.sleep_until(occ.at)
                outcome = await run_once(
                    self.engine.store, self.clock, occ.job, occ.at, self.jobs.session(occ.job, day)
                )
                self.ran.append((occ.job, outcome or "claimed before"))
                self.write(f"job {occ.job} of {_et(occ.at)}: {outcome or 'run by another instance'}")
            done += 1
            day = _next_day(day.date)

    async def _started_unfinished(self, job: str, at: datetime) -> bool:
        """Started (in time) by an owner that has not finished it: resumed, not skipped as late."""
        run = await self.engine.store.jobs.get(job, at)
        return run is not None and run.finished_at is None


def say(line: str) -> None:
    """A console line, flushed: piped into a file or a container's log it shows at once, not at exit."""
    print(line, flush=True)


def _et(at: datetime) -> str:
    return f"{to_ny(at):%a %H:%M} ET"


def _span(span: timedelta) -> str:
    """A duration for a person: 45 s, 12 min, 3 h 05 min, 2 days 4 h."""
    s = int(span.total_seconds())
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} days {s % 86400 // 3600} h"


def _next_day(d: date) -> TradingDay | None:
    try:
        return trading_day(next_trading_day(d))
    except NotATradingDay:  # pragma: no cover - next_trading_day returns trading days
        return None


async def run_until(stop: asyncio.Event, *tasks: asyncio.Task[object]) -> None:
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def start_unless_stopped(engine: Engine, stop: asyncio.Event) -> bool:
    """Start the engine (a standby waits inside for its account), unless told to stop first: False then."""
    starting = asyncio.create_task(engine.start(), name="engine-start")
    stopping = asyncio.create_task(stop.wait(), name="engine-start-stop")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
    if starting.cancelled():
        return False
    starting.result()  # start's own error, raised here
    return True


def describe_now(clock: Clock) -> str:
    return f"{to_ny(clock.now()):%Y-%m-%d %H:%M:%S} New York"


def engine_jobs(settings: Settings, engine: Engine) -> Jobs:
    """The engine's scheduled jobs (charts under the data directory), for whichever driver runs them."""
    return Jobs(engine, settings.app.data_dir.expanduser() / "charts")


@dataclass(frozen=True)
class RunningEngine:
    engine: Engine
    store: Store


@contextlib.asynccontextmanager
async def running_engine(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event,
    *,
    sim_url: str | None = None,
    sim_options: SimOptions | None = None,
    sim_port: int | None = None,
    write: Callable[[str], None] = log.info,
    control: Control | None = None,
    report: Callable[[str], None] = print,
) -> AsyncIterator[RunningEngine | None]:
    """The one start-up of an account's engine (`tradebot run`, headless or with Discord, and
    `python -m bot`): open and migrate the database, pick the gateway `app.mode` asks for (see
    `gateway_for`), log in, build and start the engine (a standby waits inside for its account),
    flush its latency samples while it runs, serve `control` (the CLI's requests) and tear it all down
    on the way out, saying what stays open at the broker once the engine has stopped (the bracket
    orders, positions) and how to flatten. Yields None when `stop` came before the engine started
    (nothing to run then)."""
    db = await open_database(settings)
    try:
        await migrate(db.pool)
        store = Store(db.pool)
        async with gateway_for(settings, clock, sim_url=sim_url, sim_options=sim_options, sim_port=sim_port) as gw:
            engine = await build_engine(settings, store, clock, gw)
            started = False
            try:
                if not await start_unless_stopped(engine, stop):
                    yield None
                    return
                started = True
                write(f"engine running ({settings.app.mode}), account {engine.account_id}, {describe_now(clock)}")
                write(f"database: {db.where}; order path: {engine.path.path}")
                flush = asyncio.create_task(engine.metrics.flush_every(5.0), name="latency-flush")
                try:
                    async with contextlib.AsyncExitStack() as serving:
                        if control is not None:
                            await serving.enter_async_context(control(engine))
                        metrics = settings.metrics
                        if metrics.prometheus_port:
                            port = await serving.enter_async_context(
                                prometheus_endpoint(engine, metrics.prometheus_host, metrics.prometheus_port)
                            )
                            write(f"Prometheus metrics: http://{metrics.prometheus_host}:{port}/metrics")
                        yield RunningEngine(engine, store)
                finally:
                    flush.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await flush
            finally:
                await engine.stop()
                if started:
                    await say_left_open(engine, report, flatten_hint(settings, sim_url))
                await engine.client.aclose()
    finally:
        await db.close()


def flatten_hint(settings: Settings, sim_url: str | None) -> str:
    """The command that flattens this run's account (the same gateway and account)."""
    where = f" --paper --sim-url {sim_url}" if sim_url else (" --paper" if settings.app.mode == "paper" else "")
    return f"tradebot flatten{where}"


async def say_left_open(engine: Engine, write: Callable[[str], None], hint: str) -> None:
    """After the engine stopped: what stays open at the broker (read there, not from the engine's memory)."""
    try:
        async with asyncio.timeout(LEFT_OPEN_WAIT_S):  # not wait_for: see trading/engine/copy.py run()
            book = await broker_book(engine.client, engine.account_id, engine.clock.now(), engine.contracts_by_id())
    except Exception as exc:
        log.warning("reading what stays open at the broker failed", exc_info=True)
        write(f"could not read what stays open at the broker ({str(exc) or type(exc).__name__}); to be safe: {hint}")
        return
    for line in left_open_lines(book, hint):
        write(line)


async def run_engine(
    settings: Settings,
    *,
    sim_url: str | None = None,
    clock_start: datetime | None = None,
    speed: float = 1.0,
    stop: asyncio.Event | None = None,
    write: Callable[[str], None] | None = None,
    notifications: Notifications | None = None,
    control: Control | None = None,
) -> int:
    """Run the engine `app.mode` asks for (paper: the simulator; live: the configured gateway) and drive
    its jobs on the clock (`ClockDriver`) until `stop` (SIGINT/SIGTERM in the CLI). Notifications wait
    in the outbox for whoever delivers them: `notifications(settings, store)` is entered around the run
    (the application's console notifier, say); without it they stay queued, nothing is lost."""
    clock: Clock = SimClock(clock_start, speed=speed) if clock_start is not None else LiveClock()
    stop = stop or asyncio.Event()
    write = write or say
    # sim_port 0: an in-process simulator never clashes with a `tradebot sim` on the configured port.
    async with running_engine(
        settings, clock, stop, sim_url=sim_url, sim_port=0, write=write, control=control, report=write
    ) as running:
        if running is None:
            return 0
        driver = ClockDriver(running.engine, engine_jobs(settings, running.engine), settings, clock, write)
        async with contextlib.AsyncExitStack() as delivery:
            if notifications is not None:
                await delivery.enter_async_context(notifications(settings, running.store, running.engine.metrics))
            jobs = asyncio.create_task(driver.run(), name="jobs")
            write("ready")
            await run_until(stop, jobs)
    return 0
