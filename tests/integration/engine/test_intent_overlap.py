"""A new order's intent and its send overlap (trading/engine/core.py `_place_new`): the store going away
between a strategy's decision and its order must lose nothing and send nothing twice.

The test's own Postgres cluster is stopped from inside the strategy's callback, after it proposed and
before the engine placed: the broker takes the order while its intent cannot be written. Once the
cluster is back the store holds the order once, with the broker's id, its "placed" notice once, and the
broker never saw a second request with the tag; the engine agrees with the broker, nothing left to heal.
Run on the Rust and the Python order paths, against the simulator over real HTTP and SignalR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from tests.fakes.pg_cluster import PgCluster
from tests.integration.engine.test_intent_overlap_kill import places
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, sim_day
from trading.config import EngineSettings, RiskSettings, Settings, StrategiesSettings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import OrderRequest, OrderType, Quote, Side
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.store import Store
from trading.strategies import STRATEGIES
from trading.strategies.base import Strategy

NAME = "overlap_once"
TAG = f"{NAME}:MNQ:{DAY.date.isoformat()}"


class OnceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    symbols: tuple[str, ...] = ("MNQ",)


class Once(Strategy[OnceSettings]):
    """The first quote with a bid once the test armed it (`before_order` set): one resting buy limit 100
    points under it, then `before_order()` (the engine places it after the callback returns)."""

    name: ClassVar[str] = NAME
    before_order: ClassVar[Callable[[], None] | None] = None

    def __init__(self, config: OnceSettings, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.proposed = False

    @classmethod
    def config_type(cls) -> type[OnceSettings]:
        return OnceSettings

    def on_quote(self, symbol: str, quote: Quote) -> None:
        hook = type(self).before_order
        if self.proposed or hook is None or quote.bid is None:
            return
        self.proposed = True
        contract = self.ctx.contract(symbol)
        account = self.ctx.account().account_id
        decision = self.ctx.propose(
            OrderRequest(account, contract.id, Side.BUY, OrderType.LIMIT, 1, TAG, limit_price=quote.bid - 100)
        )
        assert decision, decision
        hook()


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """`Once` in the strategy registry for this module's tests only (the registry is the process's)."""
    STRATEGIES[NAME] = Once
    try:
        yield
    finally:
        del STRATEGIES[NAME]


class OnceStrategies(StrategiesSettings):
    overlap_once: OnceSettings = OnceSettings(enabled=True)


@pytest.mark.parametrize("intent", ["beside", "first"])
@pytest.mark.parametrize("prefer_rust", [True, False], ids=["rust-path", "python-path"])
async def test_store_away_while_the_broker_takes_a_new_order(
    own_cluster_store: tuple[PgCluster, Store], prefer_rust: bool, intent: Literal["beside", "first"]
) -> None:
    """`[engine] intent = "beside"` (the default): the broker takes the order while the store is away.
    "first": nothing reaches the broker until the intent is committed, when the store is back. Either
    way: sent once, stored once with the broker's id, one "placed" notice."""
    cluster, store = own_cluster_store
    settings = Settings(
        strategies=OnceStrategies(),
        risk=RiskSettings(trading_start=time(0, 0), trading_end=time(23, 59, 59)),
        engine=EngineSettings(heal_interval_s=0.05, intent=intent),
    )
    async with sim_day(DAY.rth_open + timedelta(minutes=5)) as day:
        engine = await build_engine(
            settings, store, day.clock, sim_gateway(day.sim), strategies=[NAME], prefer_rust=prefer_rust
        )
        counter = UserEventCounter(engine.account_id)
        day.sim.exchange.sinks.append(counter)
        try:
            await engine.start()
            await barrier(engine, counter, None)
            assert engine.ready
            Once.before_order = cluster.stop  # the decision taken; the store gone before the placement
            cid = day.cid("MNQ")
            bid = day.sim.exchange.books[cid].bid
            assert bid is not None
            with places(day.sim.exchange) as sent:
                await day.sim.market.quote(cid, bid, bid + Decimal("0.25"))
                if intent == "beside":
                    await eventually(lambda: TAG in day.tagged(), "the order at the broker while the store is away")
                else:
                    await eventually(lambda: bool(engine.actions), "the placement kept until the store is back")
                    assert sent == []
                cluster.start()
                await eventually(lambda: TAG in day.tagged(), "the order at the broker")
                broker_id = day.tagged()[TAG][0]

                async def stored_once() -> bool:
                    rows = await store.db.fetch("SELECT broker_order_id, status FROM orders WHERE custom_tag = $1", TAG)
                    return [(r["broker_order_id"], r["status"]) for r in rows] == [(broker_id, "open")]

                await eventually(stored_once, "the order stored once, with the broker's id", 60)
                await eventually(lambda: engine.ready and engine.healer.healthy, "reconciled, nothing to heal", 60)
            assert sent == [TAG]  # sent once: the repeat after the outage recorded the id it knew

            async def placed_notices() -> list[str | None]:
                return [m.dedupe_key for m in await store.outbox.recent(100) if m.dedupe_key == f"order-placed-{TAG}"]

            async def announced() -> bool:  # the notice follows the broker id's write in the same placement
                return bool(await placed_notices())

            await eventually(announced, "the order's placed notice stored")
            assert len(await placed_notices()) == 1
            assert day.tagged()[TAG] == [broker_id]
            assert engine.book.by_tag(TAG) == broker_id
            history = [e.status.value for e in await store.orders.history(custom_tag=TAG)]
            assert history[-1] == "open", history
        finally:
            Once.before_order = None
            day.sim.exchange.sinks.remove(counter)
            await close_engine(engine)
