"""Failover with real processes and a real SIGKILL: `tradebot run --paper` against the simulator of this
test process (over HTTP and SignalR), on the test database.

1. Killed while the 09:30 open job is placing its entries (the simulator holds its answer to the
   first Order/place, so the kill lands mid-job), then restarted: the open job's lease lapses, the
   restarted process takes it over and places exactly the entries that are missing, once per tag.
2. Two instances on one account: the second waits as a hot standby; when the primary is killed it
   takes over (the takeover time is printed), reconciles (a fill that happened meanwhile is stored
   and the opposite entry cancelled) and nothing is placed twice.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.engine.test_restart import TAGS, start_engine, stop, wait_for
from tests.support.engine_harness import DAY, SimDay, sim_day
from trading.projectx import schema as s
from trading.store import Store


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def once_per_tag(day: SimDay) -> dict[str, int]:
    return {tag: len(ids) for tag, ids in day.tagged().items()}


async def test_kill_9_during_the_open_job_then_restart_places_each_missing_entry_once(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "engine.log"
    async with sim_day(DAY.rth_open) as day:
        await day.preload(store)
        # the first entry reaches the simulator, whose answer then waits: the job is mid-placement
        day.sim.faults.delay_after(s.ORDER_PLACE, seconds=120.0)

        async def first_place_seen() -> bool:
            return len(day.tagged()) >= 1

        first = start_engine(day, database_url, DAY.rth_open, 1.0, log)
        try:
            await wait_for("the first Order/place at the simulator", first_place_seen, first, log)
        finally:
            kill_9(first)
        assert sum(once_per_tag(day).values()) == 1  # 3 of 4 entries not placed
        [(early_tag, [early_id])] = day.tagged().items()
        run = await store.jobs.get("open", DAY.rth_open)
        assert run is not None and run.finished_at is None  # the job died with its process

        async def all_entries_and_the_open_done() -> bool:
            run = await store.jobs.get("open", DAY.rth_open)
            return set(day.tagged()) >= set(TAGS) and run is not None and run.outcome == "ok"

        second = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=1), 1.0, log)
        try:
            await wait_for("the resumed open job", all_entries_and_the_open_done, second, log)
        finally:
            await stop(second)

    assert once_per_tag(day) == dict.fromkeys(TAGS, 1)
    run = await store.jobs.get("open", DAY.rth_open)
    assert run is not None and (run.outcome, run.attempts) == ("ok", 2)  # taken over once, finished
    state = await store.strategy_state.for_day("overnight_range", DAY.date)
    sides = {ss["tag"]: ss for sym in state["*"]["symbols"].values() for ss in sym["sides"].values()}
    assert {tag: ss["status"] for tag, ss in sides.items()} == dict.fromkeys(TAGS, "working")
    assert sides[early_tag]["order_id"] == early_id  # the entry placed before the kill, adopted by its tag
    stored = await store.db.fetch(
        "SELECT custom_tag, broker_order_id FROM orders WHERE custom_tag = ANY($1::text[])", TAGS
    )
    assert sorted(r["custom_tag"] for r in stored) == sorted(TAGS)
    assert {r["broker_order_id"] for r in stored} == {ids[0] for ids in day.tagged().values()}


async def test_a_hot_standby_takes_over_within_seconds_of_a_kill_9_and_places_nothing_twice(
    store: Store, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")  # the test reads "ready" from the processes' output as it comes
    primary_log, standby_log = tmp_path / "primary.log", tmp_path / "standby.log"
    async with sim_day(DAY.rth_open) as day:
        await day.preload(store)

        async def opened() -> bool:
            run = await store.jobs.get("open", DAY.rth_open)
            return set(day.tagged()) >= set(TAGS) and run is not None and run.outcome == "ok"

        primary = start_engine(day, database_url, DAY.rth_open, 1.0, primary_log)
        standby: subprocess.Popen[bytes] | None = None
        try:
            await wait_for("the primary's open job", opened, primary, primary_log)
            standby = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=1), 1.0, standby_log)

            async def waiting() -> bool:
                return "standby: account" in standby_log.read_text()

            await wait_for("the standby to wait for the account", waiting, standby, standby_log)
            assert "is held by another instance" in standby_log.read_text()
            assert "ready" not in standby_log.read_text().splitlines()
            placed_before = once_per_tag(day)

            kill_9(primary)
            killed_at = time.monotonic()
            # while nobody trades: the long MNQ entry fills at the simulator
            long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
            short_id = day.tagged()["overnight_range:MNQ:short:2026-02-10"][0]
            level = day.sim.exchange.orders[long_id].stop_price
            assert level is not None
            await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
            fill = next(f for f in day.sim.exchange.fills if f.order_id == long_id)

            async def active() -> bool:
                return "ready" in standby_log.read_text().splitlines()

            await wait_for("the standby to take over", active, standby, standby_log)
            takeover_s = time.monotonic() - killed_at
            print(f"\nstandby takeover after kill -9 of the primary: {takeover_s:.2f} s (engine started, reconciled)")

            async def recovered() -> bool:
                stored = await store.fills.get(fill.id)
                return stored is not None and day.sim.exchange.orders[short_id].status.name == "CANCELLED"

            await wait_for("the fill and the entry OCO after the takeover", recovered, standby, standby_log)
        finally:
            if primary.poll() is None:
                kill_9(primary)
            if standby is not None:
                await stop(standby)

    assert placed_before == dict.fromkeys(TAGS, 1)
    assert once_per_tag(day) == dict.fromkeys(TAGS, 1)  # nothing placed twice, by either instance
    assert len(await store.fills.for_order(long_id)) == 1
    runs = await store.db.fetch("SELECT job, outcome, attempts FROM job_runs WHERE job = 'open'")
    assert [(r["outcome"], r["attempts"]) for r in runs] == [("ok", 1)]  # the standby did not run it again
