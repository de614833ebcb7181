"""The engine heals itself after faults at order and fill time, on the Rust and the Python order paths:
a rate-limited entry is placed once, later; a fill the silent user hub never delivered is found and
acted on; a fill that arrives while the database is down is applied when it is back. Each case ends
with one broker order per customTag, every broker trade stored once, the opposite entry cancelled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.fakes.pg_cluster import PgCluster
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.config import EngineSettings, Settings
from trading.demo.day import barrier
from trading.domain import NotificationKind, OrderRequest, OrderStatus, OrderType, Side
from trading.engine import Engine
from trading.engine.jobs import Jobs, run_once
from trading.store import Store

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]
LONG, SHORT = "overnight_range:MNQ:long:2026-02-10", "overnight_range:MNQ:short:2026-02-10"
PATHS = pytest.mark.parametrize("prefer_rust", [True, False], ids=["rust-path", "python-path"])


def received(engine: Engine) -> int:
    """Account events the user hub client has taken off the socket (both hub implementations count them)."""
    stats: dict[str, int] = getattr(engine.user_stream, "stats", {})
    return stats.get("events", 0)


def fast_healing() -> Settings:
    return Settings(engine=EngineSettings(heal_interval_s=0.05, reconcile_interval_s=0.3, flat_check_interval_s=0.3))


async def open_entries(day: SimDay, engine: Engine, store: Store, counter: object) -> None:
    for sym in ("MNQ", "MES"):  # the 09:30 print, inside the range
        await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
    await barrier(engine, counter, DAY.rth_open)  # type: ignore[arg-type]
    await run_once(store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))


def once_per_tag(day: SimDay) -> bool:
    return all(len(ids) == 1 for ids in day.tagged().values())


async def fill_long_entry(day: SimDay) -> int:
    long_id = day.tagged()[LONG][0]
    level = day.sim.exchange.orders[long_id].stop_price
    assert level is not None
    await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
    return next(f.id for f in day.sim.exchange.fills if f.order_id == long_id)


async def assert_settled_after_fill(day: SimDay, engine: Engine, store: Store, fill_id: int) -> None:
    short_id = day.tagged()[SHORT][0]
    await eventually(lambda: day.sim.exchange.orders[short_id].status.name == "CANCELLED", "opposite entry cancelled")

    async def stored() -> bool:
        return await store.fills.get(fill_id) is not None

    await eventually(stored, "the fill stored")
    await eventually(lambda: engine.ready, "engine reconciled")
    assert once_per_tag(day)
    broker_trades = {f.id for f in day.sim.exchange.fills}
    for tid in broker_trades:
        assert await store.fills.get(tid) is not None
    notes = [m for m in await store.outbox.recent(200) if m.dedupe_key == f"fill-{fill_id}"]
    assert len(notes) == 1 and notes[0].kind is NotificationKind.ENTRY_FILL


@PATHS
async def test_a_rate_limited_entry_is_placed_later_exactly_once(store: Store, prefer_rust: bool) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, fast_healing(), prefer_rust=prefer_rust) as (engine, counter),
    ):
        # more 429s than either order path retries: the first entry's send fails before the broker took it
        day.sim.faults.apply({"kind": "rate_limit", "path": "/api/Order/place", "count": 4})
        await open_entries(day, engine, store, counter)
        await eventually(lambda: sorted(day.tagged()) == sorted(TAGS), "every entry at the broker")
        assert once_per_tag(day)

        async def all_open() -> bool:
            rows = [await store.orders.by_tag(t) for t in TAGS]
            return all(r is not None and r.id is not None and r.status is OrderStatus.OPEN for r in rows)

        await eventually(all_open, "every entry stored with its broker id")
        state = await store.strategy_state.for_day("overnight_range", DAY.date)
        for sym in ("MNQ", "MES"):
            for side in ("buy", "sell"):
                assert state["*"]["symbols"][sym]["sides"][side]["status"] == "working"
        alerts = [m for m in await store.outbox.recent(200) if (m.dedupe_key or "").startswith("intent-retry-")]
        assert alerts, "the trader was told an entry is waiting to be re-sent"
        assert engine.healer.stats.intents_resent >= 1 and engine.healer.healthy


@PATHS
async def test_a_fill_the_silent_user_hub_never_delivered_is_found_and_acted_on(
    store: Store, prefer_rust: bool
) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, fast_healing(), prefer_rust=prefer_rust) as (engine, counter),
    ):
        await open_entries(day, engine, store, counter)
        await barrier(engine, counter, None)
        day.sim.faults.stall_hubs("user")  # sockets stay open; no events, no pings
        fill_id = await fill_long_entry(day)
        await assert_settled_after_fill(day, engine, store, fill_id)
        assert engine.healer.stats.feed_rebuilds >= 1
        alerts = [m.payload for m in await store.outbox.recent(200) if m.kind is NotificationKind.ALERT]
        assert any(a.get("title") == "Account feed missed events" for a in alerts)


@PATHS
async def test_a_fill_that_arrives_while_the_database_is_down_is_applied_when_it_is_back(
    own_cluster_store: tuple[PgCluster, Store], prefer_rust: bool
) -> None:
    cluster, store = own_cluster_store
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, fast_healing(), prefer_rust=prefer_rust) as (engine, counter),
    ):
        await open_entries(day, engine, store, counter)
        await barrier(engine, counter, None)
        seen = received(engine)
        cluster.stop()  # a real Postgres shutdown of the test's own cluster
        fill_id = await fill_long_entry(day)
        # the fill reached the engine while the store was down (held, or waiting behind the lost account lease)
        await eventually(lambda: received(engine) > seen and not engine.ready, "the fill received, trading paused")
        cluster.start()
        await assert_settled_after_fill(day, engine, store, fill_id)
        assert not engine.healer.held


async def test_a_position_opened_outside_the_engine_is_followed_after_a_reconcile(store: Store) -> None:
    async with sim_day(DAY.rth_open + timedelta(minutes=5)) as day, engine_on(day, store) as (engine, counter):
        cid = day.cid("M2K")
        book = day.sim.exchange.books[cid]
        book.last, book.bid, book.ask = Decimal("2450"), Decimal("2449.9"), Decimal("2450.1")
        assert "M2K" not in engine.contracts
        # bought on the broker's own platform: no tag, no strategy, a contract the engine does not trade
        request = OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, 1, "platform:m2k")
        await engine.client.place_order(request)
        await eventually(lambda: cid in engine.positions, "the position reported by the account feed")
        await engine.reconcile()
        assert engine.contracts["M2K"].id == cid and engine.symbol_of[cid] == "M2K"
        await barrier(engine, counter, None)
