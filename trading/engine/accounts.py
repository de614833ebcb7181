"""Several accounts of one gateway login in one process (`[[accounts]]`): one engine per account.

Each account runs on its own, as a process trading one account would: its engine (rule profile, risk
state, strategies and size rule from its table), its lease (a second process with the same tables is
the hot standby of every account this one holds, and takes each over on its own), its reconciliation,
its jobs on the clock, its store rows (a store scoped to the account: job runs, strategy state, order
tags and notifications are the account's own, migration 009). What they share is the process: the
database pool, the gateway (the in-process simulator of a paper run) and the notification delivery.

One account failing to start (its name not on the login, the broker refusing it) is reported and
ends that account only; the others trade on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from trading.clock import Clock
from trading.config import AccountSettings, Settings
from trading.engine.copy import copiers_for, running
from trading.engine.core import Engine
from trading.engine.runner import (
    ClockDriver,
    Control,
    Notifications,
    describe_now,
    engine_jobs,
    flatten_hint,
    say_left_open,
    start_unless_stopped,
)
from trading.engine.setup import Gateway, build_engine, gateway_for
from trading.metrics import LatencyMetrics
from trading.sim.options import SimOptions
from trading.store import Store, migrate, open_database

log = logging.getLogger(__name__)


@dataclass
class AccountRun:
    """One account's part of the process, as the run goes (tests and `tradebot status` read it)."""

    plan: AccountSettings
    engine: Engine | None = None
    driver: ClockDriver | None = None
    error: str = ""
    running: asyncio.Event = field(default_factory=asyncio.Event)  # started: trading (not a standby)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class AccountsProcess:
    runs: list[AccountRun]

    def engines(self) -> list[Engine]:
        return [r.engine for r in self.runs if r.engine is not None and r.engine.started]

    def by_name(self, name: str) -> AccountRun:
        for r in self.runs:
            if r.plan.name.lower() == name.lower():
                return r
        raise KeyError(name)


async def run_account(
    run: AccountRun,
    settings: Settings,
    store: Store,
    clock: Clock,
    gateway: Gateway,
    stop: asyncio.Event,
    *,
    write: Callable[[str], None],
    control: Control | None,
    hint: str,
    prefer_rust: bool = True,
    days: int | None = None,
) -> None:
    """One account from log-in to stop: build, start (a standby waits inside for the account's lease),
    drive its jobs on the clock until `stop`, stop, say what stays open at the broker."""
    name = run.plan.name
    try:
        engine = await build_engine(settings, store, clock, gateway, plan=run.plan, prefer_rust=prefer_rust)
    except Exception as exc:
        run.error = str(exc) or type(exc).__name__
        write(f"account {name}: not started: {run.error}")
        run.ended.set()
        return
    run.engine = engine
    started = False
    try:
        if not await start_unless_stopped(engine, stop):
            return
        started = True
        run.running.set()
        write(f"account {name} (#{engine.account_id}): engine running, {describe_now(clock)}")
        flush = asyncio.create_task(engine.metrics.flush_every(5.0), name=f"latency-flush-{engine.account_id}")
        driver = ClockDriver(
            engine, engine_jobs(engine.settings, engine), engine.settings, clock, _prefixed(name, write)
        )
        run.driver = driver
        jobs = asyncio.create_task(driver.run(days), name=f"jobs-{engine.account_id}")
        try:
            async with contextlib.AsyncExitStack() as serving:
                if control is not None:
                    await serving.enter_async_context(control(engine))
                done = asyncio.create_task(stop.wait(), name=f"stop-{engine.account_id}")
                await asyncio.wait({jobs, done}, return_when=asyncio.FIRST_COMPLETED)
                done.cancel()
        finally:
            for t in (jobs, flush):
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
    except Exception as exc:
        run.error = str(exc) or type(exc).__name__
        log.exception("account %s failed", name)
        write(f"account {name}: stopped on an error: {run.error}")
    finally:
        await engine.stop()
        if started:
            await say_left_open(engine, _prefixed(name, write), hint)
        await engine.client.aclose()
        run.ended.set()


async def run_accounts(
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event,
    *,
    sim_url: str | None = None,
    sim_options: SimOptions | None = None,
    sim_port: int | None = 0,
    write: Callable[[str], None] = log.info,
    notifications: Notifications | None = None,
    control: Control | None = None,
    started: Callable[[AccountsProcess], None] | None = None,
) -> int:
    """Every `[[accounts]]` table's account until `stop`, each on its own (see the module's docstring).
    Exit code 1 when no account could be started, else 0."""
    db = await open_database(with_lease_connections(settings))
    try:
        await migrate(db.pool)
        store = Store(db.pool)
        async with gateway_for(settings, clock, sim_url=sim_url, sim_options=sim_options, sim_port=sim_port) as gw:
            process = AccountsProcess([AccountRun(plan) for plan in settings.accounts])
            hint = flatten_hint(settings, sim_url)
            write(f"{len(process.runs)} accounts: {', '.join(r.plan.name for r in process.runs)}; database: {db.where}")
            async with contextlib.AsyncExitStack() as delivery:
                if notifications is not None:
                    # The delivery is the process's, shared by every account: its own latency metrics (the
                    # "posted" stage), flushed to the store like an engine's.
                    posted = LatencyMetrics(clock, store.latency)
                    flushing = asyncio.create_task(posted.flush_every(5.0), name="posted-latency-flush")
                    delivery.push_async_callback(_stop_flushing, flushing, posted)
                    await delivery.enter_async_context(notifications(settings, store, posted))
                tasks = [
                    asyncio.create_task(
                        run_account(run, settings, store, clock, gw, stop, write=write, control=control, hint=hint),
                        name=f"account-{run.plan.name}",
                    )
                    for run in process.runs
                ]
                copying = asyncio.create_task(copy_when_running(process, stop, write), name="copy-mode")
                if started is not None:
                    started(process)
                write("ready")
                try:
                    await asyncio.gather(*tasks)
                finally:
                    copying.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await copying
            return 0 if any(r.engine is not None and r.engine.started for r in process.runs) or not process.runs else 1
    finally:
        await db.close()


async def _stop_flushing(task: asyncio.Task[None], metrics: LatencyMetrics) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with contextlib.suppress(Exception):  # the database may be gone at shutdown: samples are not trades
        await metrics.flush()


def with_lease_connections(settings: Settings) -> Settings:
    """Each account's lease keeps one pooled connection for as long as it holds the account: the pool
    grows by one per account, so the engines' own work never waits behind the leases."""
    db = settings.database
    grown = db.model_copy(update={"pool_max": max(db.pool_max, db.pool_min) + len(settings.accounts)})
    return settings.model_copy(update={"database": grown})


async def copy_when_running(process: AccountsProcess, stop: asyncio.Event, write: Callable[[str], None]) -> None:
    """Copy mode once every leader and follower of the process is trading (or has ended): one copier per
    leader over the followers that run here, until `stop`."""
    involved = [r for r in process.runs if r.plan.follow or _is_leader(r, process)]
    if not involved:
        return
    for r in involved:
        await settled(r)
    engines = {r.plan.name.lower(): r.engine for r in involved if r.engine is not None and r.running.is_set()}
    copiers = copiers_for(engines, [r.plan for r in process.runs])
    for c in copiers:
        names = ", ".join(f.name for f in c.followers)
        write(f"copy mode: {c.leader.account_name} -> {names}")
    async with running(copiers):
        await stop.wait()


async def settled(run: AccountRun) -> None:
    """Until the account trades (a standby: once it has taken the account over) or has ended."""
    waiting = [asyncio.create_task(run.running.wait()), asyncio.create_task(run.ended.wait())]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in waiting:
            t.cancel()


async def first_trading(process: AccountsProcess) -> Engine | None:
    """Until one account of the process trades (its engine), or every account has ended (None)."""
    pending = {asyncio.create_task(settled(r)) for r in process.runs}
    try:
        while pending:
            for r in process.runs:
                if r.running.is_set() and r.engine is not None:
                    return r.engine
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for r in process.runs:
            if r.running.is_set() and r.engine is not None and not r.ended.is_set():
                return r.engine
        return None
    finally:
        for t in pending:
            t.cancel()


def _is_leader(run: AccountRun, process: AccountsProcess) -> bool:
    return any(o.plan.follow.strip().lower() == run.plan.name.strip().lower() for o in process.runs)


def _prefixed(name: str, write: Callable[[str], None]) -> Callable[[str], None]:
    return lambda line: write(f"[{name}] {line}")
