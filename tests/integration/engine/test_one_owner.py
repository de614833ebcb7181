"""One owner per account: a trader's order (through `Services`) and a strategy's proposal (through its
context) are decided by the same engine, against the same exposure, so at the same moment they get the
same risk answer. The real engine on the simulator, real Postgres."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.config import Settings
from trading.demo.day import barrier
from trading.domain import Decision, OrderRequest, OrderType, Side
from trading.engine import Engine
from trading.engine.context import EngineContext
from trading.services import OrderSpec, RiskRefused, Services
from trading.store import Store

STRATEGY = "overnight_range"


def buy(engine: Engine, day: SimDay, symbol: str, tag: str) -> OrderRequest:
    return OrderRequest(engine.account_id, day.cid(symbol), Side.BUY, OrderType.MARKET, 1, f"{STRATEGY}:{tag}")


async def strategy_order(engine: Engine, request: OrderRequest) -> Decision:
    """What a strategy's handler does: propose through its context; the engine carries out the actions
    right after, under its lock (as after every handler)."""
    async with engine._lock:
        decision = EngineContext(engine, STRATEGY).propose(request)
        await engine._after()
    return decision


async def manual_order(services: Services, symbol: str, tag: str) -> Decision:
    """The same order from a slash command: `Services.place_order`, its answer as a decision."""
    try:
        placed = await services.place_order(OrderSpec(symbol, Side.BUY, OrderType.MARKET, 1), tag)
    except RiskRefused as exc:
        return Decision(False, str(exc).removeprefix("Risk refused the order: "))
    assert placed.order_id is not None and not placed.duplicate
    return Decision(True)


@pytest.mark.parametrize("rust", [True, False], ids=["rust", "python"])
async def test_a_manual_and_a_strategy_order_get_the_same_risk_decision(store: Store, rust: bool) -> None:
    settings = Settings(risk={"max_position_per_symbol": 2, "daily_loss_limit": "100"})
    at = DAY.rth_open + timedelta(minutes=5)
    async with sim_day(at) as day, engine_on(day, store, settings, prefer_rust=rust) as (engine, counter):
        services = Services(engine)
        mnq = day.cid("MNQ")

        # Room for both (flat, at most 2 MNQ): both accepted, both placed.
        assert await strategy_order(engine, buy(engine, day, "MNQ", "one-1")) == Decision(True)
        assert await manual_order(services, "MNQ", "tb-one-1") == Decision(True)
        await barrier(engine, counter, None)
        position = engine.positions[mnq]
        assert position.size == 2
        assert (await services.risk_status()).positions == {"MNQ": 2}  # /risk status: the engine's exposure

        # At the per-symbol limit: both refused, for the same reason.
        by_strategy = await strategy_order(engine, buy(engine, day, "MNQ", "one-2"))
        by_trader = await manual_order(services, "MNQ", "tb-one-2")
        assert not by_strategy and "position would reach 3 contracts" in by_strategy.reason
        assert by_trader == by_strategy

        # The market falls 30 points: 2 MNQ lose $120 unrealized, past the $100 daily loss limit. The
        # engine's exposure counts open P&L, so both refuse an order adding MES (room on MES itself).
        fallen = position.average_price - 30
        await day.trade("MNQ", fallen, at + timedelta(seconds=30))
        await barrier(engine, counter, at + timedelta(seconds=30))
        assert engine.exposure().unrealized <= Decimal(-100)
        by_strategy = await strategy_order(engine, buy(engine, day, "MES", "loss-1"))
        by_trader = await manual_order(services, "MES", "tb-loss-1")
        assert not by_strategy and "daily loss limit reached" in by_strategy.reason
        assert by_trader == by_strategy
        assert (await services.risk_status()).day_pnl == engine.exposure().day_pnl  # /risk status: the same view

        # Nothing refused reached the broker; each accepted tag was placed once.
        tagged = day.tagged()
        assert sorted(tagged) == [f"{STRATEGY}:one-1", "tb-one-1"]
        assert all(len(ids) == 1 for ids in tagged.values())
