"""The strategy component's route on the simulator (trading/engine/strategy_route.py): an overnight-range
day (the 09:25 card, the open's entries, an entry's fill and its opposite's cancel, the flatten, the
summary) in shadow with zero mismatches; an injected difference in the Rust twin stored and alerted
once, never sent; a route changed python → rust → python mid-day giving the pure-python day's orders
and fills; a Rust strategy that raises tripping the breaker, Python carrying on with the state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.engine.test_healing import fast_healing
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading import native
from trading.config import RoutingSettings, Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import NotificationKind
from trading.engine import Engine
from trading.engine.context import Action, Place
from trading.engine.strategy_route import RUST, RecordingContext
from trading.services import Services
from trading.store import Store
from trading.store.admin import truncate_data_tables
from trading.strategies.base import SessionEvent
from trading.strategies.native import RustOvernightRange
from trading.strategies.overnight_range import OvernightRange

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
NAME = "overnight_range"
LONG = "overnight_range:MNQ:long:2026-02-10"
START = DAY.rth_open - timedelta(minutes=5, seconds=30)
Step = Callable[[str], Awaitable[None]]


def routed(strategy: str | None) -> Settings:
    return fast_healing().model_copy(update={"routing": RoutingSettings(strategy=strategy)})


async def nothing(_: str) -> None:
    return None


async def session(engine: Engine, day: SimDay, counter: UserEventCounter, event: SessionEvent) -> None:
    await engine.session_event(event, DAY)
    await barrier(engine, counter, None)


async def run_day(day: SimDay, engine: Engine, counter: UserEventCounter, between: Step = nothing) -> None:
    """09:25 card, 09:30 entries, the MNQ long filled (its short cancelled), a minute of prints, the
    flatten and the summary; `between(step)` runs before each step (a route change)."""
    day.clock.set(DAY.rth_open - timedelta(minutes=5))
    await between("pre_open")
    await session(engine, day, counter, SessionEvent.PRE_OPEN)
    for sym in ("MNQ", "MES"):  # the 09:30 print, inside the range
        await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
    await barrier(engine, counter, DAY.rth_open)
    await between("open")
    await session(engine, day, counter, SessionEvent.OPEN)
    await between("fill")
    long_id = day.tagged()[LONG][0]
    level = day.sim.exchange.orders[long_id].stop_price
    assert level is not None
    for k in range(4):  # through the long's level, then prints over the next minutes (bars close)
        await day.trade("MNQ", level + 1 + k, DAY.rth_open + timedelta(minutes=2 + k))
    await barrier(engine, counter, DAY.rth_open + timedelta(minutes=5))
    await eventually(lambda: engine.idle and engine.ready, "the fill handled")
    await between("flatten")
    day.clock.set(DAY.flatten)
    await session(engine, day, counter, SessionEvent.FLATTEN)
    await eventually(lambda: not engine.positions, "flat")
    await between("summary")
    day.clock.set(DAY.flatten + timedelta(minutes=20))
    await session(engine, day, counter, SessionEvent.SUMMARY)


def broker_day(day: SimDay) -> tuple[list[Any], list[Any]]:
    """The day at the broker, without ids: its orders and its fills."""
    orders = sorted(
        (str(o.custom_tag), o.side.name, o.type.name, o.size, str(o.stop_price), o.status.name)
        for o in day.sim.exchange.orders.values()
    )
    fills = sorted((str(f.price), f.size, f.side.name) for f in day.sim.exchange.fills)
    return orders, fills


async def test_shadow_through_a_day_agrees_on_every_event(store: Store) -> None:
    async with sim_day(START) as day, engine_on(day, store, routed("shadow")) as (engine, counter):
        assert type(engine.strategies[NAME]) is OvernightRange  # Python serves
        await run_day(day, engine, counter)
        routes = engine.strategy_routes
        assert type(engine.strategies[NAME]) is OvernightRange
        assert routes.comparator.mismatches == {}
        assert {"on_session_event", "on_fill"} <= set(routes.acted)
        for event in routes.acted:  # every kind of event that acted was compared
            assert routes.comparator.by_kind[f"strategy.{event}"] >= 1
        assert routes.comparator.by_kind["strategy.on_bar"] >= 1
        view = await Services(engine).parity()
        assert view.compared.get("strategy", 0) >= sum(routes.acted.values())
        assert [m for m in view.mismatches if m.component == "strategy"] == []
    assert len(day.tagged()[LONG]) == 1  # placed once: the twin never sends


class OneMoreContract(list[Action]):
    """The twin's captured actions with every entry one contract bigger (an injected bug)."""

    def append(self, action: Action) -> None:
        if isinstance(action, Place):
            action = Place(action.strategy, replace(action.request, size=action.request.size + 1))
        super().append(action)


async def test_an_injected_difference_is_stored_and_alerted_once(store: Store) -> None:
    async with sim_day(START) as day, engine_on(day, store, routed("shadow")) as (engine, counter):
        routes = engine.strategy_routes
        twin = routes.twins[NAME] = routes.build(NAME, RUST, RecordingContext(engine, NAME))
        ctx = twin.ctx
        assert isinstance(ctx, RecordingContext)
        ctx.recorder.actions = OneMoreContract()
        await run_day(day, engine, counter)

        async def stored() -> bool:
            return sum(m.mismatches for m in await store.routes.parity()) >= 2

        await eventually(stored, "the mismatches stored")
        counts = {(c.component, c.kind): c.mismatches for c in await store.routes.parity()}
        # the open's four entries (one event) and the flatten's closing order: one kind, two mismatches
        assert counts == {("strategy", "strategy.on_session_event"): 2}
        rows = await store.routes.mismatches("strategy")
        places = [([a for a in r.python if a[0] == "place"], [a for a in r.rust if a[0] == "place"]) for r in rows]
        assert sorted(len(py) for py, _ in places) == [1, 4]  # the flatten's close, the open's entries
        for py, rs in places:
            assert [a[1]["size"] + 1 for a in py] == [a[1]["size"] for a in rs]
        alerts = [m for m in await store.outbox.recent(300) if m.kind is NotificationKind.ALERT]
        parity = [m.payload["title"] for m in alerts if m.payload.get("title", "").startswith("Parity")]
        assert parity == ["Parity: strategy differ (strategy.on_session_event)"]
    assert all(o.size == 1 for o in day.sim.exchange.orders.values())  # Python's orders were sent, only


async def test_a_route_change_mid_day_carries_the_state_and_changes_no_order(store: Store) -> None:
    async with sim_day(START) as day, engine_on(day, store, routed(None)) as (engine, counter):
        await run_day(day, engine, counter)
        pure_python = broker_day(day)
        pure_state = engine.strategies[NAME].on_save()
    await truncate_data_tables(store.db)  # a second day from scratch, as the first one began

    served: list[tuple[str, str]] = []
    async with sim_day(START) as day, engine_on(day, store, routed(None)) as (engine, counter):
        services = Services(engine)

        async def switch(step: str) -> None:  # an admin's `route set strategy ...`: applied at once
            if step == "open":
                await services.set_route("strategy", "rust", by="admin#1")
            elif step == "flatten":
                await services.set_route("strategy", "python", by="admin#1")
            served.append((step, type(engine.strategies[NAME]).__name__))

        await run_day(day, engine, counter, switch)
        assert broker_day(day) == pure_python
        assert engine.strategies[NAME].on_save() == pure_state
        changes = await store.routes.changes()
        assert sorted((c.component, c.old_route, c.new_route, c.changed_by) for c in changes) == [
            ("strategy", "impl", "rust", "admin#1"),
            ("strategy", "rust", "python", "admin#1"),
        ]
    # Rust handled the open, the fill and its order updates; Python the card, the flatten and the summary
    assert served == [
        ("pre_open", "OvernightRange"),
        ("open", "RustOvernightRange"),
        ("fill", "RustOvernightRange"),
        ("flatten", "OvernightRange"),
        ("summary", "OvernightRange"),
    ]


class RaisingOnFill:
    """The Rust core with its fill handler broken (an injected Rust error)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def on_fill(self, *args: Any) -> None:
        raise RuntimeError("injected: the Rust core failed on a fill")


async def test_a_rust_strategy_error_trips_the_breaker_and_python_carries_on(store: Store) -> None:
    async with sim_day(START) as day, engine_on(day, store, routed("rust")) as (engine, counter):

        async def break_the_core(step: str) -> None:
            if step == "fill":
                rust = engine.strategies[NAME]
                assert isinstance(rust, RustOvernightRange)
                rust.core = RaisingOnFill(rust.core)

        await run_day(day, engine, counter, break_the_core)
        assert type(engine.strategies[NAME]) is OvernightRange
        breaker = native.breaker(native.Component.STRATEGY)
        assert breaker.open and "injected" in breaker.reason
        state = engine.strategies[NAME].on_save()
        sides = state["symbols"]["MNQ"]["sides"]
        assert (sides["buy"]["status"], sides["sell"]["status"]) == ("closed", "cancelled")
        short = day.tagged()["overnight_range:MNQ:short:2026-02-10"][0]
        assert day.sim.exchange.orders[short].status.name == "CANCELLED"  # Python acted on the fill

        async def alerted() -> bool:
            alerts = [m.payload for m in await store.outbox.recent(300) if m.kind is NotificationKind.ALERT]
            return any(a.get("title") == "strategy moved to Python" for a in alerts)

        await eventually(alerted, "the alert saying why")
        changes = await store.routes.changes()
        assert [(c.component, c.old_route, c.new_route, c.changed_by) for c in changes] == [
            ("strategy", "rust", "python", "breaker")
        ]
    assert all(len(ids) == 1 for ids in day.tagged().values())
