"""The bars component's route on the simulator (trading/marketdata/routed.py): the engine's feed
aggregated on Rust, its Rust aggregator made to raise mid-minute (after applying the print, its
output lost): the bars breaker trips, Python carries on, and the stored 1-minute bars equal a
pure-Python run's (no print lost, the minute in progress complete), with the alert and the audit row;
an admin's route change rust -> python -> rust mid-session takes over at the next print and gives the
same stored bars as a pure run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.engine.test_healing import fast_healing
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from tests.unit.marketdata.test_routed_bars import RaisesAt
from trading import native
from trading.config import RoutingSettings, Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import NotificationKind
from trading.engine import Engine
from trading.marketdata.routed import RoutedBarAggregator
from trading.services import Services
from trading.store import Store
from trading.store.admin import truncate_data_tables

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
START = DAY.rth_open + timedelta(minutes=1)
MINUTES = 4
PER_MINUTE = 3
Step = Callable[[int], Awaitable[None]]
Stored = list[tuple[object, ...]]


def bars_routed(route: str) -> Settings:
    return fast_healing().model_copy(update={"routing": RoutingSettings(bars=route)})


async def nothing(_: int) -> None:
    return None


def aggregator(engine: Engine) -> RoutedBarAggregator:
    agg = engine.bars["MNQ"].aggregator
    assert isinstance(agg, RoutedBarAggregator)
    return agg


async def session(day: SimDay, engine: Engine, counter: UserEventCounter, before: Step = nothing) -> list[str]:
    """MINUTES minutes of MNQ prints (three a minute, at :05 :25 :45), each handled before the next, then
    one more closing the last minute; `before(i)` runs before print i. Returns the aggregator's
    implementation after each print."""
    last = day.sim.exchange.books[day.cid("MNQ")].last
    assert last is not None
    served: list[str] = []
    for i in range(MINUTES * PER_MINUTE):
        m, k = divmod(i, PER_MINUTE)
        await before(i)
        at = START + timedelta(minutes=m, seconds=5 + 20 * k)
        await day.trade("MNQ", last + Decimal(k) / 4 - Decimal(m % 2) + Decimal(i) / 4, at)
        await barrier(engine, counter, at)
        served.append(aggregator(engine).mode)
    await day.trade("MNQ", last, START + timedelta(minutes=MINUTES, seconds=1))
    end = START + timedelta(minutes=MINUTES - 1)
    await eventually(lambda: engine.bars["MNQ"].latest == end, "the traded minutes closed")
    return served


async def stored_bars(day: SimDay, store: Store) -> Stored:
    """The session's 1-minute bars as the store has them once the engine stopped (its last flush)."""
    bars = await store.bars.range(day.cid("MNQ"), "1m", START, START + timedelta(minutes=MINUTES))
    return [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in bars]


async def pure_python(store: Store) -> Stored:
    """The session with the bars on Python throughout; the data tables emptied after it."""
    async with sim_day(START - timedelta(seconds=30)) as day:
        async with engine_on(day, store, bars_routed("python")) as (engine, counter):
            assert set(await session(day, engine, counter)) == {"python"}
        pure = await stored_bars(day, store)
    await truncate_data_tables(store.db)
    assert len(pure) == MINUTES and all(b[5] == PER_MINUTE for b in pure)
    return pure


async def test_a_rust_aggregator_error_mid_minute_trips_and_python_keeps_every_print(store: Store) -> None:
    pure = await pure_python(store)
    async with sim_day(START - timedelta(seconds=30)) as day:
        async with engine_on(day, store, bars_routed("rust")) as (engine, counter):
            agg = aggregator(engine)

            async def break_it(i: int) -> None:
                if i == PER_MINUTE + 1:  # the second print of the second minute: mid-minute
                    agg.inner = RaisesAt(agg.inner, 1)

            served = await session(day, engine, counter, break_it)
            assert served == ["rust"] * (PER_MINUTE + 1) + ["python"] * (MINUTES * PER_MINUTE - PER_MINUTE - 1)
            breaker = native.breaker(native.Component.BARS)
            assert breaker.open and "injected" in breaker.reason
            assert native.state(native.Component.BARS).effective == "python"

            async def alerted() -> bool:
                alerts = [m.payload for m in await store.outbox.recent(200) if m.kind is NotificationKind.ALERT]
                return any(a.get("title") == "bars moved to Python" for a in alerts)

            await eventually(alerted, "the alert saying why")
            changes = await store.routes.changes()
            assert [(c.component, c.old_route, c.new_route, c.changed_by) for c in changes] == [
                ("bars", "rust", "python", "breaker")
            ]
            assert "raised on push" in changes[0].reason
        assert await stored_bars(day, store) == pure


async def test_an_admins_route_change_rust_python_rust_gives_the_pure_bars(store: Store) -> None:
    pure = await pure_python(store)
    async with sim_day(START - timedelta(seconds=30)) as day:
        async with engine_on(day, store, bars_routed("rust")) as (engine, counter):
            services = Services(engine)
            agg = aggregator(engine)

            async def switch(i: int) -> None:  # mid-minute both times
                if i in (PER_MINUTE + 1, 2 * PER_MINUTE + 2):
                    await services.set_route("bars", "python" if i == PER_MINUTE + 1 else "rust", by="admin#1")
                    assert agg.mode != native.route(native.Component.BARS)  # taken over at the next print

            served = await session(day, engine, counter, switch)
            assert served == ["rust"] * 4 + ["python"] * 4 + ["rust"] * 4
            assert agg.switches == 2 and not native.breaker(native.Component.BARS).open
            changes = await store.routes.changes()
            assert sorted((c.component, c.old_route, c.new_route, c.changed_by) for c in changes) == [
                ("bars", "python", "rust", "admin#1"),
                ("bars", "rust", "python", "admin#1"),
            ]
        assert await stored_bars(day, store) == pure
