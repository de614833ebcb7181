"""kill -9 in the middle of a paper session, a fill while the engine is dead, a restart: no order is
placed twice and no fill is lost.

The engine runs as `tradebot run --paper --sim-url ... --clock-start ...` in a subprocess against the
simulator in this test process (a SimClock here; a simulated clock there), on the test database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.support.engine_harness import DAY, SimDay, sim_day
from trading.store import Store

WAIT_S = 90.0  # liveness bound: a hang fails the test instead of blocking the run
TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


def start_engine(
    day: SimDay, database_url: str, clock_start: datetime, speed: float, log: Path, config: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TRADEBOT_DATABASE__URL": database_url,
        "TRADEBOT_APP__DATA_DIR": str(log.parent),
        "TRADEBOT_APP__LOG_LEVEL": "WARNING",
    }
    layered = ["--config", str(config)] if config is not None else []  # before the command word
    cmd = [
        sys.executable, "-m", "trading.cli", *layered, "run", "--paper", "--sim-url", day.sim.base_url,
        "--clock-start", clock_start.isoformat(), "--speed", str(speed),
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def entries_working(store: Store) -> bool:
    """The day's four entries stored with their broker ids, and the strategy holding each as working."""
    n = await store.db.fetchval(
        "SELECT count(*) FROM orders WHERE custom_tag = ANY($1::text[]) AND broker_order_id IS NOT NULL", TAGS
    )
    state = await store.strategy_state.for_day("overnight_range", DAY.date)
    sides = [s["status"] for sym in state.get("*", {}).get("symbols", {}).values() for s in sym["sides"].values()]
    return int(n) == 4 and sides.count("working") == 4


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not await check():
        if proc.poll() is not None:
            raise AssertionError(f"the engine exited ({proc.returncode}) before {what}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{tail(log)}")
        await asyncio.sleep(0.1)


async def stop(proc: subprocess.Popen[bytes], within: float = 40.0) -> None:
    """SIGTERM, then wait for the exit without blocking this loop: on its way out the engine reads what
    stays open at the broker, from the simulator this test process serves. Killed if it does not end."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return
        await asyncio.sleep(0.1)


async def test_kill_9_then_restart_places_nothing_twice_and_loses_no_fill(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "engine.log"
    # The engine's clock starts at the open and runs at real speed: however slow its start-up, the open
    # job is due at once and the strategy is well inside its 5-minute grace.
    start = DAY.rth_open
    async with sim_day(start) as day:
        await day.preload(store)

        async def entries_placed() -> bool:
            return await entries_working(store)

        first = start_engine(day, database_url, start, 1.0, log)
        try:
            await wait_for("the four entries", entries_placed, first, log)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL

        # While it is dead: the long MNQ entry fills (and its bracket goes live) at the simulator.
        long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
        short_id = day.tagged()["overnight_range:MNQ:short:2026-02-10"][0]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None
        await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
        assert day.sim.exchange.orders[long_id].status.name == "FILLED"
        missed = [f for f in day.sim.exchange.fills if f.order_id == long_id]
        assert len(missed) == 1
        assert await store.fills.get(missed[0].id) is None  # nobody saw it

        async def recovered() -> bool:
            stored = await store.fills.get(missed[0].id)
            # The kill may land after the four entries and before the open job recorded its end: the
            # restart then resumes the job once the dead owner's lease lapses (store/jobs.py LEASE_S).
            open_done = await store.db.fetchval("SELECT outcome FROM job_runs WHERE job = 'open'") is not None
            return stored is not None and day.sim.exchange.orders[short_id].status.name == "CANCELLED" and open_done

        second = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=3), 1.0, log)
        try:
            await wait_for("the missed fill, the entry OCO and the open job's end", recovered, second, log)
        finally:
            await stop(second)

        # one order per tag at the broker, one fill in the store, the open job run once
        assert {tag: len(ids) for tag, ids in day.tagged().items() if tag in TAGS} == dict.fromkeys(TAGS, 1)
        assert len(day.tagged()) == len(TAGS)
        assert len(await store.fills.for_order(long_id)) == 1
        notes = [m for m in await store.outbox.recent(200) if m.dedupe_key == f"fill-{missed[0].id}"]
        assert len(notes) == 1
        runs = await store.db.fetch("SELECT job, outcome FROM job_runs WHERE job = 'open'")
        assert [(r["job"], r["outcome"]) for r in runs] == [("open", "ok")]
        state = await store.strategy_state.for_day("overnight_range", DAY.date)
        buy = state["*"]["symbols"]["MNQ"]["sides"]["buy"]
        assert buy["status"] == "filled" and Decimal(buy["fill_price"]) == missed[0].price
