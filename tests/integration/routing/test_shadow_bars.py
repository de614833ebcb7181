"""The bars' shadow run on the simulator: the engine's market feed aggregated by both streaming
aggregators, Python's bars served and Rust's compared bar by bar. On live prints the two agree
(zero mismatches, every closed bar compared); a difference injected on the Rust side (a stand-in
aggregator that reports each close a tick higher) is stored with both outputs and alerted once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.engine.test_healing import fast_healing
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading import native
from trading.config import RoutingSettings, Settings
from trading.domain import NotificationKind
from trading.engine import Engine
from trading.marketdata.aggregation import BarRecord, BarRow
from trading.marketdata.shadow import ShadowBarAggregator
from trading.services import Services
from trading.store import Store

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
START = DAY.rth_open + timedelta(minutes=1)


class CloseOneTickHigh:
    """Wraps the Rust aggregator: every bar it closes reports its close 0.25 higher (an injected bug)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def _skew(self, rows: Sequence[BarRow]) -> list[BarRecord]:
        return [BarRecord(r.ts, r.open, r.high, r.low, r.close + 0.25, r.volume) for r in rows]

    def push(self, ts: int, price: float, size: float) -> list[BarRecord]:
        return self._skew(self.inner.push(ts, price, size))

    def advance(self, now_ns: int) -> list[BarRecord]:
        return self._skew(self.inner.advance(now_ns))

    def flush(self) -> list[BarRecord]:
        return self._skew(self.inner.flush())


def shadow_bars() -> Settings:
    return fast_healing().model_copy(update={"routing": RoutingSettings(bars="shadow")})


async def trade_minutes(day: SimDay, engine: Engine, minutes: int) -> None:
    """Three prints a minute for `minutes` minutes, then one more: each of those minutes' bars closed."""
    last = day.sim.exchange.books[day.cid("MNQ")].last
    assert last is not None
    for m in range(minutes + 1):
        for k in range(3 if m < minutes else 1):
            await day.trade("MNQ", last + Decimal(k) / 4 - Decimal(m % 2), START + timedelta(minutes=m, seconds=10 * k))
    end = START + timedelta(minutes=minutes)
    await eventually(lambda: engine.bars["MNQ"].latest == end - timedelta(minutes=1), "the traded minutes closed")


async def test_shadow_bars_agree_on_live_prints(store: Store) -> None:
    async with (
        sim_day(START - timedelta(seconds=30)) as day,
        engine_on(day, store, shadow_bars()) as (engine, _counter),
    ):
        agg = engine.bars["MNQ"].aggregator.inner  # the bars route's aggregator now
        assert isinstance(agg, ShadowBarAggregator)
        await trade_minutes(day, engine, 4)
        view = await Services(engine).parity()
        assert view.compared.get("bars", 0) >= 4 and view.mismatches == []
        assert engine.parity.mismatches == {}


async def test_an_injected_difference_is_stored_and_alerted_once(store: Store) -> None:
    async with (
        sim_day(START - timedelta(seconds=30)) as day,
        engine_on(day, store, shadow_bars()) as (engine, _counter),
    ):
        agg = engine.bars["MNQ"].aggregator.inner
        assert isinstance(agg, ShadowBarAggregator)
        agg.rust = CloseOneTickHigh(agg.rust)  # type: ignore[assignment]
        await trade_minutes(day, engine, 3)

        async def stored() -> bool:
            return sum(m.mismatches for m in await store.routes.parity()) >= 3

        await eventually(stored, "the mismatches stored")
        (count,) = await store.routes.parity()
        assert (count.component, count.kind) == ("bars", "bars.close")
        rows = await store.routes.mismatches("bars")
        assert all(r.subject == "MNQ" and r.rust[4] == r.python[4] + 0.25 for r in rows)
        served = engine.bars["MNQ"].arrays()
        closes = dict(zip(served.ts.tolist(), served.close.tolist(), strict=True))
        # Python's bar is the one served (each compared bar by its time: a newer bar may be served already)
        assert all(closes[int(r.python[0])] == r.python[4] for r in rows)
        alerts = [m for m in await store.outbox.recent(200) if m.kind is NotificationKind.ALERT]
        parity_alerts = [m for m in alerts if m.payload.get("title", "").startswith("Parity")]
        assert len(parity_alerts) == 1 and parity_alerts[0].payload["title"] == "Parity: bars differ (bars.close)"
