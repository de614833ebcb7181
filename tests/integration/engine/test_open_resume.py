"""The open job resumed after its process died: what is missing is derived from the day's deterministic
tags at the broker, never from saved state alone. Entries already there are adopted (not placed again,
whatever risk or no-chase would say now); one that filled while nobody watched cancels its opposite
entry instead of leaving it working; nothing is placed twice. Both implementations of the strategy
(`strategies.overnight_range.impl`) run every test."""

from __future__ import annotations

import asyncio
import os
import time as walltime
from datetime import timedelta

import pytest

from tests.integration.projectx.test_rest_faults import settings_for
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.demo.day import barrier
from trading.domain import NotificationKind
from trading.engine.jobs import Jobs, run_once
from trading.projectx.rest import ProjectXClient
from trading.store import Store
from trading.strategies.base import WHOLE_STRATEGY
from trading.strategies.native import RustOvernightRange

WAIT_S = 20.0
TAG = "overnight_range:{}:{}:2026-02-10"


@pytest.fixture(autouse=True, params=["python", "rust"])
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRADEBOT_STRATEGIES__OVERNIGHT_RANGE__IMPL", request.param)
    return str(request.param)


async def open_the_day(day: SimDay, store: Store) -> int:
    """An engine runs the day's open job (four entries placed and saved) and stops; its account id."""
    async with engine_on(day, store) as (engine, counter):
        rust = os.environ["TRADEBOT_STRATEGIES__OVERNIGHT_RANGE__IMPL"] == "rust"
        assert isinstance(engine.strategies["overnight_range"], RustOvernightRange) is rust
        for sym in ("MNQ", "MES"):
            await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
        await barrier(engine, counter, DAY.rth_open)
        assert await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY)) == "ok"
        await barrier(engine, counter, None)
        return engine.account_id


async def test_a_resumed_open_adopts_the_entries_at_the_broker_and_honours_a_fill_seen_meanwhile(
    store: Store,
) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        await open_the_day(day, store)
        placed = {tag: ids[0] for tag, ids in day.tagged().items()}
        assert len(placed) == 4
        # As if the process had died right after its last Order/place: the strategy's open decisions and
        # the job's end were never saved (the state is the pre-open one) and the job's owner is gone.
        await store.strategy_state.save("overnight_range", DAY.date, WHOLE_STRATEGY, {})
        await store.db.execute(
            "UPDATE job_runs SET finished_at = NULL, outcome = NULL, lease_until = NULL WHERE job = 'open'"
        )
        long_id, short_id = placed[TAG.format("MNQ", "long")], placed[TAG.format("MNQ", "short")]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None
        await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=1))  # fills while nobody runs
        assert day.sim.exchange.orders[long_id].status.name == "FILLED"

        async with engine_on(day, store) as (engine, counter):
            outcome = await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
            assert outcome == "ok"
            deadline = walltime.monotonic() + WAIT_S
            while day.sim.exchange.orders[short_id].status.name != "CANCELLED":
                assert walltime.monotonic() < deadline, "the entry opposite the fill was left working"
                await asyncio.sleep(0.02)
            await barrier(engine, counter, None)

    assert {tag: len(ids) for tag, ids in day.tagged().items()} == dict.fromkeys(placed, 1)
    state = (await store.strategy_state.for_day("overnight_range", DAY.date))[WHOLE_STRATEGY]
    sides = {ss["tag"]: ss for sym in state["symbols"].values() for ss in sym["sides"].values()}
    assert {tag: ss["order_id"] for tag, ss in sides.items()} == placed  # each adopted by its tag
    assert sides[TAG.format("MNQ", "long")]["status"] == "filled"
    assert sides[TAG.format("MNQ", "short")]["status"] == "cancelled"
    assert sides[TAG.format("MES", "long")]["status"] == "working"
    assert sides[TAG.format("MES", "short")]["status"] == "working"
    run = await store.jobs.get("open", DAY.rth_open)
    assert run is not None and (run.outcome, run.attempts) == ("ok", 2)


async def test_a_fill_stored_but_never_handled_is_handed_to_its_strategy_after_a_restart(store: Store) -> None:
    """The process died between storing a fill and acting on it (its strategy never heard, the opposite
    entry's cancel was never sent, the state still says working): the next start hands it over once."""
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        account = await open_the_day(day, store)
        placed = {tag: ids[0] for tag, ids in day.tagged().items()}
        long_id, short_id = placed[TAG.format("MNQ", "long")], placed[TAG.format("MNQ", "short")]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None
        await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=1))
        async with ProjectXClient(settings_for(day.sim)) as client:
            fills = [f for f in await client.search_trades(account, DAY.window_start) if f.order_id == long_id]
        assert len(fills) == 1
        assert await store.fills.insert(fills[0])  # stored, then the process died before handling it
        assert [f.id for f in await store.fills.unhandled(account)] == [fills[0].id]

        async with engine_on(day, store) as (engine, counter):
            deadline = walltime.monotonic() + WAIT_S
            while day.sim.exchange.orders[short_id].status.name != "CANCELLED":
                assert walltime.monotonic() < deadline, "the entry opposite the fill was left working"
                await asyncio.sleep(0.02)
            await barrier(engine, counter, None)
            assert await store.fills.unhandled(account) == []

    assert {tag: len(ids) for tag, ids in day.tagged().items()} == dict.fromkeys(placed, 1)
    state = (await store.strategy_state.for_day("overnight_range", DAY.date))[WHOLE_STRATEGY]
    sides = {ss["tag"]: ss for sym in state["symbols"].values() for ss in sym["sides"].values()}
    assert sides[TAG.format("MNQ", "long")]["status"] == "filled"
    assert sides[TAG.format("MNQ", "short")]["status"] == "cancelled"
    said = [m.payload for m in await store.outbox.recent(200) if m.kind is NotificationKind.STRATEGY]
    assert [p.get("tag") for p in said if p.get("event") == "entry_fill"] == [TAG.format("MNQ", "long")]
