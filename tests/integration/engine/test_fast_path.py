"""The breakeven without Python (trading/engine/fast_path.py) against the simulator over real HTTP and
SignalR and Postgres: with the Rust overnight range, the Rust stream and the Rust executor, a quote that
reaches entry + breakeven_points moves the filled long's stop leg from the stream's own task, once; the
"modified" notice is stored once; the strategy's state is what the Python implementation gives for the
same quote; a quote short of the level does nothing; and the move reaches the simulator while the
engine's lock is held (so no Python handler of that quote ran the strategy)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, open_and_fill, rust_active, sim_day
from trading import native
from trading.config import Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import NotificationKind, Quote
from trading.engine import Engine
from trading.engine.context import ModifyStop
from trading.engine.strategy_route import RecordingContext
from trading.notifications import modified_key
from trading.projectx import schema as s
from trading.sim.exchange import Exchange
from trading.store import Store
from trading.strategies.overnight_range import OvernightRange

pytestmark = pytest.mark.skipif(not native.loaded(), reason="the Rust extension is not built")

NAME = "overnight_range"
FAILING = 4  # HTTP 500s: the Rust executor's four attempts (its retry schedule) all fail


def settings(fast_path: bool) -> Settings:
    return Settings(strategies={NAME: {"impl": "rust", "fast_path": fast_path}})


@contextmanager
def counting_modifies(exchange: Exchange) -> Iterator[list[int]]:
    """The order ids of every modify request the simulator's exchange takes (it still takes them)."""
    seen: list[int] = []
    real = exchange.modify

    def modify(req: Any) -> Any:
        seen.append(req.orderId)
        return real(req)

    exchange.modify = modify  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        exchange.modify = real  # type: ignore[method-assign]


def stop_leg(day: SimDay, parent: int) -> Any:
    stops = [o for o in day.sim.exchange.orders.values() if o.parent_id == parent and o.type == 4]
    assert len(stops) == 1, stops
    return stops[0]


@dataclass
class Filled:
    """The day after the open with the MNQ long filled: its entry price and its stop leg at the simulator."""

    day: SimDay
    engine: Engine
    counter: UserEventCounter
    entry: Decimal
    stop: Any


@asynccontextmanager
async def filled_long(store: Store, fast_path: bool = True) -> AsyncIterator[Filled]:
    with rust_active(True):
        async with (
            sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
            engine_on(day, store, settings(fast_path)) as (engine, counter),
        ):
            assert (engine.fast_path is not None) is fast_path and engine.path.path == "rust"
            long_id = await open_and_fill(day, engine, counter)
            entry = (await store.fills.for_order(long_id))[0].price  # the breakeven's entry price
            yield Filled(day, engine, counter, entry, stop_leg(day, long_id))


async def modified_notices(store: Store) -> list[Any]:
    return [
        m
        for m in await store.outbox.recent(500)
        if m.kind is NotificationKind.ORDER and (m.dedupe_key or "").startswith("order-modified-")
    ]


async def one_modified(store: Store) -> bool:
    return len(await modified_notices(store)) == 1


def plain(state: Any) -> Any:
    return json.loads(json.dumps(state, default=str, sort_keys=True))


def python_twin_after(engine: Engine, state: Any, price: Decimal) -> tuple[Any, list[Any]]:
    """The Python implementation, from `state`, handling a quote at `price`: its state and its actions."""
    strategy = engine.strategies[NAME]
    ctx = RecordingContext(engine, NAME)
    twin = OvernightRange(strategy.config.model_copy(update={"impl": "python"}), ctx)
    twin.on_load(state)
    cid = engine.contracts["MNQ"].id
    twin.on_quote("MNQ", Quote(cid, engine.clock.now(), last=price))
    return twin.on_save(), list(ctx.actions)


async def test_a_crossing_quote_moves_the_stop_once_without_python(store: Store) -> None:
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        assert fast is not None
        before_price = stop.stop_price
        cid = engine.contracts["MNQ"].id
        assert fast.table.triggers(cid) == [(True, float(entry + 15))]
        state_before = engine.strategies[NAME].on_save()

        with counting_modifies(day.sim.exchange) as modifies:
            # short of the level: nothing moves, nothing fires, still armed
            at = DAY.rth_open + timedelta(minutes=3)
            await day.trade("MNQ", entry + Decimal("14.75"), at)
            await barrier(engine, counter, at)
            assert fast.table.fired == 0 and modifies == [] and stop.stop_price == before_price
            assert fast.table.triggers(cid) == [(True, float(entry + 15))]

            # the crossing quote, while the engine's lock is held: no Python handler can run the strategy
            at += timedelta(seconds=10)
            async with engine._lock:
                await day.trade("MNQ", entry + 16, at)
                await eventually(lambda: stop.stop_price == entry, "the stop moved to the entry price")
                assert modifies == [stop.id] and fast.table.fired == 1
            await eventually(lambda: fast.moves == 1, "the fast path's result recorded")
            await barrier(engine, counter, at)
            # later quotes past the level: the breakeven is done, nothing more is sent
            await day.trade("MNQ", entry + 18, at + timedelta(seconds=1))
            await barrier(engine, counter, at + timedelta(seconds=1))
            assert modifies == [stop.id] and fast.table.fired == 1
            assert fast.table.triggers(cid) == []

        notices = await modified_notices(store)
        assert [n.dedupe_key for n in notices] == [modified_key(stop.id, entry)]
        assert engine.metrics.counters[("fast_path", "rust", "moved")] == 1
        rows = {(m.operation, m.path): m for m in engine.metrics.summary()}
        assert rows[("stage.tick_to_order", "rust")].count == 1
        assert rows[("modify", "rust")].count == 1

        # the same state as the Python implementation handling the same quote, the same stop move
        rust_state = engine.strategies[NAME].on_save()
        python_state, python_actions = python_twin_after(engine, state_before, entry + 16)
        assert plain(rust_state) == plain(python_state)
        assert rust_state["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"] is True
        assert [(a.order.id, a.price) for a in python_actions if isinstance(a, ModifyStop)] == [(stop.id, entry)]
        saved = await store.strategy_state.for_day(NAME, DAY.date)
        assert saved["*"]["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"] is True


@pytest.mark.parametrize("fast_path", [True, False])
async def test_the_stop_moves_once_with_the_fast_path_on_or_off(store: Store, fast_path: bool) -> None:
    """On, the move reaches the simulator while the engine's lock is held; off by setting, only once the
    Python handler runs; either way exactly once, notified once."""
    async with filled_long(store, fast_path) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        with counting_modifies(day.sim.exchange) as modifies:
            at = DAY.rth_open + timedelta(minutes=3)
            async with engine._lock:
                await day.trade("MNQ", entry + 16, at)
                if fast_path:
                    await eventually(lambda: modifies == [stop.id], "moved without Python")
                else:
                    assert modifies == []  # Python's handler waits for the lock
            await barrier(engine, counter, at)
            await eventually(lambda: stop.stop_price == entry, "the stop moved to the entry price")
            await barrier(engine, counter, None)
            assert modifies == [stop.id]
        assert len(await modified_notices(store)) == 1


async def test_an_executor_route_to_python_closes_the_gate(store: Store) -> None:
    """The Python path would send this move through httpx (the executor routed to Python): the gate closes
    at the route change and the fast path sends nothing; the Python handler moves the stop, once."""
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        assert fast is not None
        assert fast.table.is_open
        before = native.route(native.Component.EXECUTOR)
        native.set_route(native.Component.EXECUTOR, "python")
        try:
            assert not fast.table.is_open
            with counting_modifies(day.sim.exchange) as modifies:
                at = DAY.rth_open + timedelta(minutes=3)
                await day.trade("MNQ", entry + 16, at)
                await barrier(engine, counter, at)
                await eventually(lambda: stop.stop_price == entry, "the stop moved the Python way")
                assert modifies == [stop.id] and fast.table.fired == 0 and fast.moves == 0
        finally:
            native.set_route(native.Component.EXECUTOR, before)


async def test_a_move_the_broker_fails_is_alerted_and_sent_again_the_python_way(store: Store) -> None:
    """The simulator answers the fast path's modify with HTTP 500s: the result is taken as `_modify_stop`
    takes a failure (an alert, the healer's retry), and the healer's retry moves the stop."""
    async with filled_long(store) as f:
        day, engine, entry, stop = f.day, f.engine, f.entry, f.stop
        fast = engine.fast_path
        assert fast is not None
        day.sim.faults.http_500_before(s.ORDER_MODIFY, count=FAILING)
        await day.trade("MNQ", entry + 16, DAY.rth_open + timedelta(minutes=3))
        await eventually(lambda: fast.moves == 1, "the fast path's failed move taken")
        assert engine.metrics.counters[("fast_path", "rust", "failed")] == 1
        await eventually(lambda: stop.stop_price == entry, "the healer moved the stop")
        alerts = [m for m in await store.outbox.recent(500) if m.dedupe_key == f"action-failed-stop-{stop.id}"]
        assert len(alerts) == 1
        await eventually(lambda: one_modified(store), "the modified notice stored once")


async def test_the_state_is_not_saved_while_a_move_made_without_python_is_unrecorded(store: Store) -> None:
    """The core says "moved" as soon as it moves the stop; saving that before the move's notice is stored
    would lose the notice for good at a crash in between (the next run finds the move done). Any save
    asked meanwhile (here directly, in the engine: the Python handler of the same quote) leaves the state
    as it was; once the move is recorded, notice and state are both stored."""
    async with filled_long(store) as f:
        day, engine, entry, stop = f.day, f.engine, f.entry, f.stop
        fast = engine.fast_path
        assert fast is not None

        async def saved_done() -> Any:
            saved = await store.strategy_state.for_day(NAME, DAY.date)
            return saved["*"]["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"]

        assert await saved_done() is False
        async with engine._lock:  # the fast path's result waits for it: the move stays unrecorded
            await day.trade("MNQ", entry + 16, DAY.rth_open + timedelta(minutes=3))
            await eventually(lambda: stop.stop_price == entry, "the stop moved without Python")
            assert fast.table.unrecorded == 1
            assert engine.strategies[NAME].on_save()["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"] is True
            await engine._persist()
            assert await saved_done() is False and await modified_notices(store) == []
        await eventually(lambda: fast.table.unrecorded == 0, "the move recorded")
        assert await one_modified(store)
        await eventually(saved_done, "the state saved with the breakeven done")
