"""Every open position has a protective stop at the broker for its full size (trading/engine/protection.py),
on the Rust and the Python order paths: the real engine on the simulator over HTTP and SignalR, real
Postgres. A naked manual order, a bracket whose stop is cancelled, a partial cover, the flatten action,
the market already past the stop's level, a position opened at the broker directly on a contract no
strategy trades, and no double placement over repeated checks or a restart."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.engine.test_healing import LONG, fill_long_entry, open_entries
from tests.integration.projectx.test_rest_faults import settings_for
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.config import EngineSettings, ProtectionSettings, Settings
from trading.demo.day import barrier
from trading.domain import Bracket, NotificationKind, OrderRequest, OrderType, Rounding, Side
from trading.engine import Engine
from trading.engine.protection import PREFIX
from trading.projectx import schema as s
from trading.projectx.rest import ProjectXClient
from trading.risk import KillMode
from trading.sim.state import SimOrder
from trading.store import Store

pytestmark = pytest.mark.protection
PATHS = pytest.mark.parametrize("prefer_rust", [True, False], ids=["rust-path", "python-path"])
AT = DAY.rth_open + timedelta(minutes=5)
GRACE_S = 1.0
STOP_TICKS = 40


def guarded(**over: object) -> Settings:
    protection = ProtectionSettings(**{"check_interval_s": 0.1, "grace_s": GRACE_S, "stop_ticks": STOP_TICKS, **over})
    engine = EngineSettings(heal_interval_s=0.05, reconcile_interval_s=0.3, flat_check_interval_s=0.3)
    return Settings(engine=engine, protection=protection)


def protective(day: SimDay) -> list[SimOrder]:
    return [o for o in day.sim.exchange.orders.values() if (o.custom_tag or "").startswith(PREFIX)]


def working_stops(day: SimDay) -> list[SimOrder]:
    return [o for o in protective(day) if o.working and o.type == s.OrderType.STOP]


def market(engine: Engine, day: SimDay, side: Side, size: int, tag: str, **kw: object) -> OrderRequest:
    return OrderRequest(engine.account_id, day.cid("MNQ"), side, OrderType.MARKET, size, tag, **kw)  # type: ignore[arg-type]


async def position_of(engine: Engine, cid: str, size: int) -> float:
    """Wait for the engine to see the position; the wall time it did."""
    await eventually(lambda: cid in engine.positions and engine.positions[cid].size == size, f"position {size}")
    return time.monotonic()


def bracket_stop(day: SimDay, entry_id: int) -> SimOrder:
    """The stop-loss child of an entry placed with a native bracket."""
    entry = day.sim.exchange.orders[entry_id]
    [sl] = [o for c in entry.children if (o := day.sim.exchange.orders[c]).type == s.OrderType.STOP]
    return sl


async def bought(engine: Engine, day: SimDay, size: int, tag: str) -> str:
    """A trader's market buy of MNQ through the engine, no bracket; the contract once the engine holds it."""
    cid = day.cid("MNQ")
    assert (await engine.submit(market(engine, day, Side.BUY, size, tag), "manual")).order_id is not None
    await position_of(engine, cid, size)
    return cid


async def checks_pass(engine: Engine, n: int) -> None:
    """Wait for `n` more of the guard's checks (a condition, not a sleep)."""
    start = engine.protection.stats.checks
    await eventually(lambda: engine.protection.stats.checks >= start + n, f"{n} more protection checks")


async def alerts(store: Store, n: int = 1) -> list[dict[str, object]]:
    """The guard's alerts, once there are `n` (each is written right after the broker's answer)."""

    async def said() -> list[dict[str, object]]:
        return [
            dict(m.payload)
            for m in await store.outbox.recent(200)
            if m.kind is NotificationKind.RISK and m.payload.get("notice") == "protection"
        ]

    async def some() -> bool:
        return len(await said()) >= n

    await eventually(some, f"{n} alert(s) of the guard")
    return await said()


def stop_below(engine: Engine, cid: str) -> Decimal:
    p = engine.positions[cid]
    c = engine.contracts[engine.symbol_of[cid]]
    return c.snap(p.average_price - STOP_TICKS * c.tick_size, Rounding.DOWN)


@PATHS
async def test_a_naked_manual_order_gets_a_stop_for_its_full_size_after_the_grace(
    store: Store, prefer_rust: bool
) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = day.cid("MNQ")
        sent = await engine.submit(market(engine, day, Side.BUY, 2, "tb-naked"), "manual")
        assert sent.order_id is not None
        seen = await position_of(engine, cid, 2)
        await eventually(lambda: bool(working_stops(day)), "a protective stop at the broker")
        assert time.monotonic() - seen >= GRACE_S * 0.9, "placed before the grace was over"
        [stop] = working_stops(day)
        assert (stop.side, stop.size, stop.stop_price) == (s.OrderSide.ASK, 2, stop_below(engine, cid))

        async def attached() -> bool:  # through the engine's placement: intent, tag, then the broker's id
            stored = await store.orders.by_tag(stop.custom_tag or "")
            return stored is not None and stored.id == stop.id

        await eventually(attached, "the stored intent carries the broker's id")
        [note] = await alerts(store)
        assert (note["action"], note["uncovered"], note["custom_tag"]) == ("stop", 2, stop.custom_tag)


@PATHS
async def test_a_position_whose_bracket_stop_is_cancelled_is_protected_again(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = day.cid("MNQ")
        bracket = Bracket(stop_loss_ticks=-20, take_profit_ticks=60)
        sent = await engine.submit(market(engine, day, Side.BUY, 1, "tb-bracket", bracket=bracket), "manual")
        assert sent.order_id is not None
        await position_of(engine, cid, 1)
        sl = bracket_stop(day, sent.order_id)
        await eventually(lambda: sl.id in engine.orders and engine.orders[sl.id].status.value == "open", "SL live")
        await checks_pass(engine, int(3 * GRACE_S / 0.1))
        assert protective(day) == [], "the bracket's own stop covers the position"

        await engine.cancel_order(sl.id)  # the stop disappears (a trader's click, the broker)
        gone = time.monotonic()
        await eventually(lambda: bool(working_stops(day)), "protected again")
        assert time.monotonic() - gone >= GRACE_S * 0.9
        [stop] = working_stops(day)
        assert (stop.side, stop.size, stop.stop_price) == (s.OrderSide.ASK, 1, stop_below(engine, cid))


@PATHS
async def test_a_partial_cover_gets_only_the_missing_size(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = day.cid("MNQ")
        last = day.sim.exchange.books[cid].last
        assert last is not None
        own = OrderRequest(engine.account_id, cid, Side.SELL, OrderType.STOP, 1, "tb-own-stop", stop_price=last - 50)
        assert (await engine.submit(own, "manual")).order_id is not None
        assert (await engine.submit(market(engine, day, Side.BUY, 3, "tb-three"), "manual")).order_id is not None
        await position_of(engine, cid, 3)
        await eventually(lambda: bool(working_stops(day)), "the missing size protected")
        await checks_pass(engine, int(3 * GRACE_S / 0.1))
        [stop] = working_stops(day)
        assert stop.size == 2 and len(protective(day)) == 1
        [note] = await alerts(store)
        assert note["uncovered"] == 2 and note["size"] == 3


@PATHS
async def test_the_flatten_action_closes_the_naked_position(store: Store, prefer_rust: bool) -> None:
    settings = guarded(action="flatten")
    async with sim_day(AT) as day, engine_on(day, store, settings, prefer_rust=prefer_rust) as (engine, _):
        cid = await bought(engine, day, 2, "tb-flat")
        await eventually(lambda: (engine.account_id, cid) not in day.sim.exchange.positions, "flat at the broker")
        await eventually(lambda: cid not in engine.positions, "flat in the engine's view")
        [close] = protective(day)
        assert (close.type, close.side, close.size, close.status) == (
            s.OrderType.MARKET, s.OrderSide.ASK, 2, s.OrderStatus.FILLED,
        )  # fmt: skip
        [note] = await alerts(store)
        assert note["action"] == "flatten"


@PATHS
async def test_a_market_already_past_the_stop_level_is_closed_at_market(store: Store, prefer_rust: bool) -> None:
    settings = guarded(grace_s=3.0)  # the market falls before the grace is over
    async with sim_day(AT) as day, engine_on(day, store, settings, prefer_rust=prefer_rust) as (engine, counter):
        cid = await bought(engine, day, 1, "tb-falls")
        fallen = engine.positions[cid].average_price - 20  # 80 ticks down: past a 40-tick stop
        await day.trade("MNQ", fallen, AT + timedelta(seconds=1))
        await barrier(engine, counter, AT + timedelta(seconds=1))
        await eventually(lambda: (engine.account_id, cid) not in day.sim.exchange.positions, "closed at market")
        assert [o.type for o in protective(day)] == [s.OrderType.MARKET]
        [note] = await alerts(store)
        assert note["action"] == "flatten" and "past the stop level" in str(note["reason"])


@PATHS
async def test_a_position_opened_at_the_broker_directly_is_protected(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = day.cid("M2K")  # a contract no strategy trades
        book = day.sim.exchange.books[cid]
        book.last, book.bid, book.ask = Decimal("2450"), Decimal("2449.9"), Decimal("2450.1")
        assert "M2K" not in engine.contracts
        async with ProjectXClient(settings_for(day.sim)) as platform:  # the broker's own platform, not the engine
            await platform.login()
            short = OrderRequest(engine.account_id, cid, Side.SELL, OrderType.MARKET, 2, "platform:m2k")
            await platform.place_order(short)
        await position_of(engine, cid, 2)
        await eventually(lambda: bool(working_stops(day)), "the platform's position protected")
        [stop] = working_stops(day)
        # short 2 @ 2449.9: a buy stop 40 ticks (0.1) above, rounded up on the grid
        assert (stop.side, stop.size, stop.stop_price) == (s.OrderSide.BID, 2, Decimal("2453.9"))


@PATHS
async def test_nothing_is_placed_twice_over_repeated_checks_or_a_restart(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day:
        cid = day.cid("MNQ")
        async with engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
            await bought(engine, day, 1, "tb-once")
            await eventually(lambda: bool(working_stops(day)), "protected")
            await checks_pass(engine, int(3 * GRACE_S / 0.1))
            assert len(protective(day)) == 1
        async with engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
            await position_of(engine, cid, 1)
            await checks_pass(engine, int(3 * GRACE_S / 0.1))
            assert len(protective(day)) == 1 and len(working_stops(day)) == 1
        assert all(len(ids) == 1 for ids in day.tagged().values())

        # The process died between writing a protective stop's intent and sending it (the stop was
        # cancelled meanwhile): the next start sends that intent once, by its tag, and nothing else.
        [first] = protective(day)
        day.sim.exchange.cancel(engine.account_id, first.id)
        position = day.sim.exchange.positions[(engine.account_id, cid)]
        tag = f"{PREFIX}{cid}:{position.id}:1"
        request = OrderRequest(
            engine.account_id, cid, Side.SELL, OrderType.STOP, 1, tag, stop_price=first.stop_price, reason="protection"
        )
        await store.orders.record_intent(request, at=day.clock.now())
        async with engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
            await eventually(lambda: bool(working_stops(day)), "protected after the restart")
            await checks_pass(engine, int(3 * GRACE_S / 0.1))
            assert [o.custom_tag for o in working_stops(day)] == [tag]
        assert all(len(ids) == 1 for ids in day.tagged().values())


@PATHS
async def test_a_protective_stop_whose_position_is_gone_is_cancelled(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = await bought(engine, day, 1, "tb-gone")
        await eventually(lambda: bool(working_stops(day)), "protected")
        await engine.close_position(cid)  # closeContract leaves working orders in place
        await eventually(lambda: cid not in engine.positions, "flat")
        await eventually(lambda: not working_stops(day), "the orphaned protective stop cancelled")
        # the simulator has it cancelled before the guard's cancel call returns and counts it
        await eventually(lambda: engine.protection.stats.cancelled == 1, "the guard counting its cancel")


@PATHS
async def test_a_protective_stop_larger_than_what_is_left_of_its_position_is_cut(
    store: Store, prefer_rust: bool
) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = await bought(engine, day, 3, "tb-three")
        await eventually(lambda: bool(working_stops(day)), "protected")
        [stop] = working_stops(day)
        assert stop.size == 3
        # the trader sells 1 (the guard's stop would now sell 3 of 2), then protects 1 more by hand
        assert (await engine.submit(market(engine, day, Side.SELL, 1, "tb-sell-1"), "manual")).order_id is not None
        await eventually(lambda: stop.size == 2, "the guard's stop cut to the position")
        level = stop_below(engine, cid) - 10
        own = OrderRequest(engine.account_id, cid, Side.SELL, OrderType.STOP, 1, "tb-own-stop", stop_price=level)
        assert (await engine.submit(own, "manual")).order_id is not None
        await eventually(lambda: stop.size == 1, "cut again: the trader's stop covers part of it")
        await eventually(lambda: engine.protection.stats.resized == 2, "the guard counting its second cut")
        assert [o.size for o in working_stops(day)] == [1]


@PATHS
async def test_a_halted_account_still_gets_its_protective_stop(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        await bought(engine, day, 1, "tb-halt")
        engine.risk.trip(KillMode.HALTED, "halted by an operator", day.clock.now())
        refused = await engine.submit(market(engine, day, Side.BUY, 1, "tb-more"), "manual")
        assert "HALTED" in refused.refused  # adding is refused ...
        await eventually(lambda: bool(working_stops(day)), "... protecting is not")
        assert working_stops(day)[0].size == 1


@PATHS
async def test_attempts_that_place_nothing_back_off_and_are_said_once(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, _):
        cid = day.cid("MNQ")
        async with ProjectXClient(settings_for(day.sim)) as platform:
            await platform.login()
            await platform.place_order(OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, 1, "p:1"))
        day.sim.faults.reject_next_order(count=1000, message="Outside trading hours")  # every place refused
        await position_of(engine, cid, 1)
        since = time.monotonic()  # before the first attempt
        await eventually(lambda: engine.protection.stats.failures >= 1, "a first attempt refused")
        await checks_pass(engine, int(4 * GRACE_S / 0.1))
        # attempt k (a stop, then the market close) comes 2^k - 2 s after the first: at most log2(E + 2)
        # attempts in E seconds (two in 4 s), where one every grace would make E + 1 (however slow the machine)
        allowed = math.floor(math.log2(time.monotonic() - since + 2))
        failures = engine.protection.stats.failures
        assert failures <= allowed and len(protective(day)) <= 2 * allowed, (failures, allowed)
        day.sim.faults.clear()
        await eventually(lambda: bool(working_stops(day)), "protected once the broker takes orders", within=30)
        notes = await alerts(store, 2)
        assert sorted(str(n["action"]) for n in notes) == ["failed", "stop"]


@PATHS
async def test_a_strategy_fill_with_its_bracket_is_not_doubled_and_is_protected_when_its_stop_goes(
    store: Store, prefer_rust: bool
) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, guarded(), prefer_rust=prefer_rust) as (engine, counter),
    ):
        await open_entries(day, engine, store, counter)
        await fill_long_entry(day)
        cid = day.cid("MNQ")
        await position_of(engine, cid, 1)
        sl = bracket_stop(day, day.tagged()[LONG][0])
        await checks_pass(engine, int(3 * GRACE_S / 0.1))
        assert protective(day) == [], "the strategy's bracket stop covers its fill"
        await engine.cancel_order(sl.id)
        await eventually(lambda: bool(working_stops(day)), "protected again")
        assert working_stops(day)[0].size == 1
