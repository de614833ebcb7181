"""The hubs decode every canonical hub frame (tests/data/projectx/hub, shaped like api doc §8.4), sent
verbatim by the simulator's hub server over a real websocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderStatus, PositionSide, Side
from trading.projectx import schema as s
from trading.projectx.realtime import MarketHub, UserHub
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustUserStream
from trading.sim.gateway import SimGateway
from trading.streaming import (
    AccountEvent,
    DepthEvent,
    DepthKind,
    FillEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StatusEvent,
    StreamEvent,
    TradesEvent,
)

HUB_DATA = Path(__file__).resolve().parents[2] / "data" / "projectx" / "hub"
ES = "CON.F.US.EP.U25"
WAIT_S = 10.0  # a guard against hanging only


class Collector:
    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self.arrived = asyncio.Event()

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        self.events.extend(e for e in batch if not isinstance(e, StatusEvent))
        self.arrived.set()

    async def take(self, n: int) -> list[StreamEvent]:
        while len(self.events) < n:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), WAIT_S)
        out, self.events = self.events[:n], self.events[n:]
        return out


def frame(name: str) -> str:
    return (HUB_DATA / f"{name}.json").read_text().strip() + s.RECORD_SEPARATOR


def push(sim: SimGateway, hub: str, *names: str) -> None:
    for conn in sim.hubs.connections:
        if conn.hub == hub:
            for name in names:
                conn.send(frame(name))


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


async def token(sim: SimGateway) -> str:
    async with ProjectXClient(
        ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    ) as px:
        return await px.login()


async def test_canonical_market_frames(sim: SimGateway) -> None:
    tok = await token(sim)
    got = Collector()
    hub = MarketHub(sim.market_hub_url, got, lambda: tok, stale_after_s=None)
    await hub.start()
    try:
        await hub.subscribe_quotes(ES)
        push(sim, "market", "quote_full", "quote_partial", "trade_array", "depth_array")
        full, partial, trades, depth = await got.take(4)
        assert isinstance(full, QuoteEvent) and isinstance(partial, QuoteEvent)
        assert (full.quote.last, full.quote.bid, full.quote.ask, full.quote.volume) == (
            Decimal("6335.25"), Decimal("6335.0"), Decimal("6335.25"), 123456,
        )  # fmt: skip
        # The partial quote keeps last and volume from the full one; its own time wins.
        assert (partial.quote.last, partial.quote.volume) == (Decimal("6335.25"), 123456)
        assert partial.quote.ts_event == datetime(2025, 7, 18, 21, 0, 1, 500000, tzinfo=UTC)
        assert isinstance(trades, TradesEvent) and trades.contract_id == ES
        assert [(t.price, t.size, t.aggressor) for t in trades.ticks] == [
            (Decimal("6335.25"), 2, Side.BUY),
            (Decimal("6335.0"), 1, Side.SELL),
        ]
        assert trades.ticks[1].ts_event == datetime(2025, 7, 18, 21, 0, 1, 301234, tzinfo=UTC)  # 7-digit fraction
        assert isinstance(depth, DepthEvent)
        assert [lv.kind for lv in depth.levels] == [DepthKind.BEST_BID, DepthKind.BEST_ASK, DepthKind.RESET]
        assert depth.levels[0].volume == 12 and depth.levels[0].current_volume == 12
        assert hub.stats["malformed"] == 0
    finally:
        await hub.stop()


async def test_canonical_user_frames(sim: SimGateway) -> None:
    tok = await token(sim)
    got = Collector()
    hub = UserHub(sim.user_hub_url, got, lambda: tok)
    await hub.start()
    try:
        await hub.subscribe_account(465)
        push(sim, "user", "user_account", "user_order_wrapped", "user_order_flat", "user_position", "user_trade")
        account, wrapped, flat, position, trade = await got.take(5)
        assert isinstance(account, AccountEvent) and account.account.name == "PRAC-V2-465"
        assert isinstance(wrapped, OrderEvent) and isinstance(flat, OrderEvent)
        assert wrapped.order == flat.order  # the {action, data} wrapper is unwrapped
        assert (flat.order.id, flat.order.status, flat.order.custom_tag) == (9056, OrderStatus.OPEN, "strat-1")
        assert flat.order.limit_price == Decimal("23000.25")
        assert isinstance(position, PositionEvent) and not position.closed
        assert (position.position.side, position.position.size) == (PositionSide.LONG, 2)
        assert isinstance(trade, FillEvent)
        assert (trade.fill.order_id, trade.fill.pnl, trade.fill.fees) == (9056, None, Decimal("0.37"))
    finally:
        await hub.stop()


@pytest.mark.parametrize(
    "hub_class",
    [
        pytest.param(UserHub, id="python"),
        pytest.param(
            RustUserStream,
            id="rust",
            marks=pytest.mark.skipif(not native.enabled(), reason="Rust path not active"),
        ),
    ],
)
async def test_order_events_carry_the_wrapper_action(sim: SimGateway, hub_class: type[UserHub]) -> None:
    tok = await token(sim)
    got = Collector()
    hub = hub_class(sim.user_hub_url, got, lambda: tok)
    await hub.start()
    try:
        await hub.subscribe_account(465)
        push(sim, "user", "user_order_wrapped", "user_order_flat")
        wrapped, flat = await got.take(2)
        assert isinstance(wrapped, OrderEvent) and isinstance(flat, OrderEvent)
        assert (wrapped.action, flat.action) == (1, None)
        assert wrapped.order == flat.order
    finally:
        await hub.stop()
