"""The engine against the simulator, over the wire: a strategy's entries are placed once (intent
first), a fill arrives over the user hub and is stored once and notified, the opposite entry is
cancelled, breakeven moves the stop."""

from __future__ import annotations

import asyncio
import time as walltime
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.engine_harness import DAY, engine_on, sim_day
from trading import native
from trading.config import RiskSettings, Settings
from trading.demo.day import barrier
from trading.domain import NotificationKind, OrderStatus
from trading.engine.jobs import Jobs, run_once
from trading.metrics import STAGE_PREFIX
from trading.store import Store
from trading.strategies.base import SessionEvent

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


async def test_entries_are_placed_once_and_a_fill_is_stored_and_notified_once(store: Store) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day, engine_on(day, store) as (engine, counter):
        assert engine.ready and engine.reconciles == 1
        for sym in ("MNQ", "MES"):  # the 09:30 open print (inside the range: no chase)
            await day.trade(
                sym, day.bars[sym][-1].close if False else str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open
            )
        await barrier(engine, counter, DAY.rth_open)
        jobs = Jobs(engine)
        assert await run_once(store, day.clock, "open", DAY.rth_open, jobs.session("open", DAY)) == "ok"
        await barrier(engine, counter, None)
        assert sorted(day.tagged()) == sorted(TAGS)
        assert all(len(ids) == 1 for ids in day.tagged().values())
        for tag in TAGS:
            row = await store.orders.by_tag(tag)
            assert row is not None and row.id == day.tagged()[tag][0] and row.status is OrderStatus.OPEN
            history = [h.status for h in await store.orders.history(tag)]
            assert history[0] is OrderStatus.INTENT  # written before it was sent

        # the job is claimed: not again; and the strategy event itself again places nothing
        assert await run_once(store, day.clock, "open", DAY.rth_open, jobs.session("open", DAY)) is None
        await engine.session_event(SessionEvent.OPEN, DAY)
        await barrier(engine, counter, None)
        assert all(len(ids) == 1 for ids in day.tagged().values())

        long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
        short_id = day.tagged()["overnight_range:MNQ:short:2026-02-10"][0]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None
        await day.trade("MNQ", level + 2, DAY.rth_open + timedelta(minutes=2))
        await barrier(engine, counter, None)
        fills = await store.fills.for_order(long_id)
        assert len(fills) == 1 and fills[0].price == day.sim.exchange.orders[long_id].filled_price
        notes = await store.outbox.recent(100)
        fill_notes = [m for m in notes if m.dedupe_key == f"fill-{fills[0].id}"]
        assert len(fill_notes) == 1 and fill_notes[0].kind is NotificationKind.ENTRY_FILL
        assert day.sim.exchange.orders[short_id].status.name == "CANCELLED"  # entry OCO
        # the hub repeating the trade is not a new fill
        assert await engine.apply_fill(fills[0]) is False
        assert len(await store.fills.for_order(long_id)) == 1

        # breakeven: 15 points above the fill, the stop child moves to the entry price
        entry = fills[0].price
        at = DAY.rth_open + timedelta(minutes=3)
        await day.trade("MNQ", entry + Decimal(16), at)
        await barrier(engine, counter, at)  # the quote reached the strategy
        await barrier(engine, counter, None)  # and the modify's order event came back
        stops = [o for o in day.sim.exchange.orders.values() if o.parent_id == long_id and o.type == 4]
        assert len(stops) == 1 and stops[0].stop_price == entry
        state = await store.strategy_state.for_day("overnight_range", DAY.date)
        assert state["*"]["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"] is True


async def test_new_orders_are_refused_until_reconciled(store: Store) -> None:
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _):
        engine.ready = False
        from trading.domain import OrderRequest, OrderType, Side

        req = OrderRequest(engine.account_id, day.cid("MNQ"), Side.BUY, OrderType.MARKET, 1, "t:1")
        decision = engine.check_risk(req)
        assert not decision and "reconciled" in decision.reason
        report = await engine.reconcile()
        assert report.agrees and engine.ready
        assert engine.check_risk(req)


async def test_a_stored_working_order_the_broker_does_not_know_is_settled_not_fatal(store: Store) -> None:
    """A store written against another gateway (an earlier simulator, an order purged broker-side)
    holds an order working that Order/searchById answers OrderNotFound: the reconcile settles it as
    cancelled with an alert and the engine trades, instead of stopping the start."""
    from trading.domain import Order, OrderType, Side

    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _):
        ghost = Order(
            id=987_654_321,
            account_id=engine.account_id,
            contract_id=day.cid("MNQ"),
            side=Side.BUY,
            type=OrderType.STOP,
            size=1,
            status=OrderStatus.OPEN,
            custom_tag="ghost:1",
            stop_price=Decimal(20000),
        )
        await store.orders.upsert_broker_order(ghost, at=day.clock.now())
        assert ghost.id not in day.sim.exchange.orders
        report = await engine.reconcile()
        assert report.orders_unknown == [ghost.id]
        assert report.agrees and engine.ready
        assert ghost.id not in {o.id for o in await store.orders.open_orders(engine.account_id)}
        assert engine.orders[987_654_321].status is OrderStatus.CANCELLED
        notes = [m.payload for m in await store.outbox.recent(50) if m.kind is NotificationKind.ALERT]
        assert any(n.get("title") == "Orders unknown to the broker" and "#987654321" in str(n) for n in notes), notes


async def test_a_fill_missed_while_the_user_hub_was_down_is_reconciled_after_the_reconnect(store: Store) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day, engine_on(day, store) as (engine, counter):
        for sym in ("MNQ", "MES"):
            await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
        await barrier(engine, counter, DAY.rth_open)
        await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
        await barrier(engine, counter, None)
        long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
        short_id = day.tagged()["overnight_range:MNQ:short:2026-02-10"][0]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None

        day.sim.faults.stall_hubs("user")  # events sent now are lost
        await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
        fill = next(f for f in day.sim.exchange.fills if f.order_id == long_id)
        day.sim.faults.drop_hubs("user")  # the client notices, reconnects, the engine reconciles
        deadline = walltime.monotonic() + 20.0
        while await store.fills.get(fill.id) is None or engine.reconciles < 2:
            assert walltime.monotonic() < deadline, "the missed fill was not reconciled"
            await asyncio.sleep(0.05)
        counter.count = engine.events_seen  # the lost events will never arrive
        await barrier(engine, counter, None)
        notes = [m.payload for m in await store.outbox.recent(50) if m.kind.value == "alert"]
        assert engine.ready, notes
        assert len(await store.fills.for_order(long_id)) == 1
        assert day.sim.exchange.orders[short_id].status.name == "CANCELLED"  # the strategy saw the fill
        assert all(len(ids) == 1 for ids in day.tagged().values())


async def test_a_daily_loss_past_the_limit_halts_cancels_and_survives_a_restart(store: Store) -> None:
    settings = Settings(risk=RiskSettings(daily_loss_limit=Decimal(5)))
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        async with engine_on(day, store, settings) as (engine, counter):
            for sym in ("MNQ", "MES"):
                await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
            await barrier(engine, counter, DAY.rth_open)
            await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
            await barrier(engine, counter, None)
            long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
            level = day.sim.exchange.orders[long_id].stop_price
            assert level is not None
            await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=1))
            await barrier(engine, counter, None)
            stop = next(o for o in day.sim.exchange.orders.values() if o.parent_id == long_id and o.type == 4)
            assert stop.stop_price is not None
            await day.trade("MNQ", stop.stop_price - 1, DAY.rth_open + timedelta(minutes=2))  # stopped out: a loss
            deadline = walltime.monotonic() + 10.0
            while any(o.status.name == "OPEN" for o in day.sim.exchange.orders.values()):
                assert walltime.monotonic() < deadline, "the halt did not cancel the working orders"
                await asyncio.sleep(0.02)
            await barrier(engine, counter, None)
            stored = await store.risk_state.get(engine.account_id)
            assert stored is not None and stored.kill_switch.value == "halted"
        async with engine_on(day, store, settings) as (again, _):
            from trading.domain import OrderRequest, OrderType, Side

            req = OrderRequest(again.account_id, day.cid("MES"), Side.BUY, OrderType.MARKET, 1, "t:after-restart")
            decision = again.check_risk(req)
            assert not decision and "HALTED" in decision.reason


@pytest.mark.parametrize("prefer_rust", [True, False], ids=["rust-path", "python-path"])
async def test_a_rejected_entry_is_recorded_notified_and_never_retried(store: Store, prefer_rust: bool) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, prefer_rust=prefer_rust) as (engine, counter),
    ):
        expected = "rust" if prefer_rust and native.enabled() else "python"
        assert engine.path.path == expected
        for sym in ("MNQ", "MES"):
            await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
        await barrier(engine, counter, DAY.rth_open)
        day.sim.faults.apply({"kind": "reject_order", "count": 1})  # the first entry (MNQ long) is refused
        await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
        await barrier(engine, counter, None)
        tag = "overnight_range:MNQ:long:2026-02-10"
        row = await store.orders.by_tag(tag)
        assert row is not None and row.status is OrderStatus.REJECTED
        notes = [m for m in await store.outbox.recent(50) if m.dedupe_key == f"order-rejected-{tag}"]
        assert len(notes) == 1 and notes[0].payload["error"]
        state = await store.strategy_state.for_day("overnight_range", DAY.date)
        assert state["*"]["symbols"]["MNQ"]["sides"]["buy"]["status"] == "cancelled"
        # the other three entries went through, each once; the refused one is not sent again
        await engine.session_event(SessionEvent.OPEN, DAY)
        await barrier(engine, counter, None)
        placed = {t: ids for t, ids in day.tagged().items() if t != tag}
        assert len(placed) == 3 and all(len(ids) == 1 for ids in placed.values())
        assert len(day.tagged().get(tag, [])) <= 1  # the rejected order the gateway created, nothing more
        samples = {s.path for s in engine.metrics.summary() if not s.operation.startswith(STAGE_PREFIX)}
        assert samples == {expected}  # the order calls (the stages carry their own components' paths)
