"""The signalrcore hubs against the simulator's SignalR hubs over real websockets: events decoded and
batched, quotes merged, re-subscription after a drop, an alert and a reconnect after a silent stall,
a rebuilt connection after a token refresh, GatewayLogout, malformed payloads skipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import pytest

from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderStatus, OrderType, PositionSide, Side
from trading.projectx import schema as s
from trading.projectx.errors import StreamError
from trading.projectx.realtime import MarketHub, UserHub
from trading.projectx.rest import ProjectXClient
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.streaming import (
    AccountEvent,
    DepthEvent,
    DepthKind,
    FillEvent,
    MarketStream,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StatusEvent,
    StreamEvent,
    StreamState,
    TradesEvent,
    UserStream,
)

E = TypeVar("E")
WAIT_S = 10.0  # only a guard against hanging; nothing asserts on time


class Recorder:
    """The batch handler: keeps every event and lets a test wait for the one it expects."""

    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self.batches = 0
        self._changed = asyncio.Condition()

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        async with self._changed:
            self.batches += 1
            self.events.extend(batch)
            self._changed.notify_all()

    async def wait_for(self, kind: type[E], where: Callable[[E], bool] = lambda _e: True, after: int = 0) -> E:
        def find() -> E | None:
            for e in self.events[after:]:
                if isinstance(e, kind) and where(e):
                    return e
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), WAIT_S)
        found = find()
        assert found is not None
        return found

    async def status(self, state: StreamState, after: int = 0) -> StatusEvent:
        return await self.wait_for(StatusEvent, lambda e: e.state is state, after)

    def mark(self) -> int:
        return len(self.events)


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


@pytest.fixture
async def px(sim: SimGateway) -> AsyncIterator[ProjectXClient]:
    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    async with ProjectXClient(settings) as client:
        await client.login()
        yield client


def market_hub(sim: SimGateway, px: ProjectXClient, rec: Recorder, **kw: object) -> MarketHub:
    kw.setdefault("stale_after_s", None)
    return MarketHub(sim.market_hub_url, rec, px.tokens.current, reconnect_delays_s=(0.05, 0.1), **kw)


async def test_market_events_are_decoded_merged_and_batched(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    assert isinstance(hub, MarketStream)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await rec.status(StreamState.CONNECTED)
        await hub.subscribe_quotes(cid)
        await hub.subscribe_trades(cid)
        await hub.subscribe_depth(cid)
        await sim.market.quote(cid, "21000", "21000.5")
        depth = await rec.wait_for(DepthEvent)
        assert {(lv.kind, lv.price) for lv in depth.levels} == {
            (DepthKind.BEST_BID, Decimal("21000")),
            (DepthKind.BEST_ASK, Decimal("21000.5")),
        }
        mark = rec.mark()
        await sim.market.trade(cid, "21000.25", 3)
        trades = await rec.wait_for(TradesEvent, after=mark)
        assert [(t.price, t.size) for t in trades.ticks] == [(Decimal("21000.25"), 3)]
        # Partial quotes (only a bid, then only a last price) are merged with what came before.
        mark = rec.mark()
        sim.hubs.market_event(cid, s.EVENT_QUOTE, {"bestBid": 20999.75, "timestamp": "2026-01-02T15:00:00Z"})
        sim.hubs.market_event(cid, s.EVENT_QUOTE, {"lastPrice": 21000.5})
        q = await rec.wait_for(QuoteEvent, lambda e: e.quote.last == Decimal("21000.5"), after=mark)
        assert (q.quote.bid, q.quote.ask) == (Decimal("20999.75"), Decimal("21000.5"))
        assert q.quote.ts_event == datetime(2026, 1, 2, 15, tzinfo=UTC)  # kept from the earlier part
        assert hub.last_quote(cid) == q.quote
        assert rec.batches <= len(rec.events)
    finally:
        await hub.stop()
    assert isinstance(rec.events[-1], StatusEvent) and rec.events[-1].state is StreamState.STOPPED


async def test_resubscribes_after_a_dropped_connection(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        await sim.market.trade(cid, "21000", 1)
        await rec.wait_for(TradesEvent)
        assert sim.faults.drop_hubs("market") == 1
        down = await rec.status(StreamState.DISCONNECTED)
        assert down.is_alert
        mark = rec.mark()
        await rec.status(StreamState.RECONNECTED, mark)
        mark = rec.mark()
        await sim.market.trade(cid, "21001", 2)
        again = await rec.wait_for(TradesEvent, after=mark)
        assert again.ticks[0].price == Decimal("21001")
        assert hub.stats["connects"] == 2
    finally:
        await hub.stop()


async def test_silent_stall_raises_an_alert_and_reconnects(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec, stale_after_s=0.3, market_hours=lambda _now: True)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        await sim.market.trade(cid, "21000", 1)
        await rec.wait_for(TradesEvent)
        sim.faults.stall_hubs("market")
        stale = await rec.status(StreamState.STALE)
        assert stale.is_alert and "silent" in stale.message
        mark = rec.mark()
        await rec.status(StreamState.RECONNECTED, mark)
        mark = rec.mark()
        await sim.market.trade(cid, "21002", 1)
        fresh = await rec.wait_for(TradesEvent, after=mark)
        assert fresh.ticks[0].price == Decimal("21002")
    finally:
        await hub.stop()


async def test_no_stale_alert_outside_market_hours(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    checks: list[bool] = []
    looked_three_times = asyncio.Event()

    def closed(_now: object) -> bool:
        checks.append(False)
        if len(checks) >= 3:
            looked_three_times.set()
        return False

    hub = market_hub(sim, px, rec, stale_after_s=0.1, market_hours=closed)
    await hub.start()
    try:
        await hub.subscribe_trades(sim.contract("MNQ"))
        await asyncio.wait_for(looked_three_times.wait(), WAIT_S)  # the watchdog saw a silent feed 3 times
        assert not any(isinstance(e, StatusEvent) and e.state is StreamState.STALE for e in rec.events)
        assert hub.stats["connects"] == 1
    finally:
        await hub.stop()


async def test_token_refresh_rebuilds_the_connection_with_the_new_token(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    hub.follow_tokens(px)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        old = px.token
        new = await px.refresh_token()
        assert new != old
        await rec.status(StreamState.TOKEN_REFRESHED)
        tokens = {c.request.query.get(s.HUB_ACCESS_TOKEN_PARAM) for c in sim.hubs.connections}
        assert tokens == {new}
        mark = rec.mark()
        await sim.market.trade(cid, "21003", 1)
        assert (await rec.wait_for(TradesEvent, after=mark)).ticks[0].price == Decimal("21003")
    finally:
        await hub.stop()


async def test_background_refresh_before_expiry_reaches_the_hub() -> None:
    # Tokens live 3 s and the client refreshes 2 s ahead: the background refresher renews through
    # Auth/validate before expiry (no 401, no re-login) and the hub reconnects with each new token.
    async with (
        SimGateway(SimSettings(port=0), options=SimOptions(token_lifetime_s=3)) as sim,
        ProjectXClient(
            ProjectXSettings(
                base_url=sim.base_url, username=sim.username, api_key=sim.api_key, token_refresh_margin_s=2.0
            )
        ) as px,
    ):
        await px.login()
        first = px.token
        rec = Recorder()
        hub = market_hub(sim, px, rec)
        hub.follow_tokens(px)
        await hub.start()
        try:
            px.start_auto_refresh()
            await rec.status(StreamState.TOKEN_REFRESHED)
            assert px.stats["refresh"] >= 1 and px.stats["reauth"] == 0 and px.stats["login"] == 1
            assert first not in {c.request.query.get(s.HUB_ACCESS_TOKEN_PARAM) for c in sim.hubs.connections}
            assert hub.connected
        finally:
            await hub.stop()


async def test_reconnect_refused_until_the_client_logs_in_again(sim: SimGateway, px: ProjectXClient) -> None:
    """Tokens expire and the hub drops: reconnects are refused (401) and retried; once the REST client
    logs in again (401 → re-login), the new token reaches the hub and it comes back."""
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    hub.follow_tokens(px)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        sim.faults.expire_tokens()
        sim.faults.drop_hubs("market")
        await rec.status(StreamState.DISCONNECTED)
        assert await px.accounts()  # 401, re-login, new token
        assert px.stats["reauth"] == 1
        mark = rec.mark()
        await rec.wait_for(
            StatusEvent, lambda e: e.state in (StreamState.RECONNECTED, StreamState.TOKEN_REFRESHED), after=mark
        )
        await rec.status(StreamState.TOKEN_REFRESHED)
        mark = rec.mark()
        await sim.market.trade(cid, "21004", 1)
        assert (await rec.wait_for(TradesEvent, after=mark)).ticks[0].price == Decimal("21004")
        assert {c.request.query.get(s.HUB_ACCESS_TOKEN_PARAM) for c in sim.hubs.connections} == {px.token}
    finally:
        await hub.stop()


async def test_gateway_logout_is_an_alert(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    await hub.start()
    try:
        sim.faults.logout_hubs()
        logout = await rec.status(StreamState.LOGOUT)
        assert logout.is_alert
    finally:
        await hub.stop()


async def test_malformed_payloads_are_skipped_and_the_stream_goes_on(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = market_hub(sim, px, rec)
    cid = sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        await hub.subscribe_quotes(cid)
        good = {"symbolId": "F.US.MNQ", "price": 21005, "timestamp": "2026-01-02T15:00:00Z", "type": 0, "volume": 4}
        sim.hubs.market_event(cid, s.EVENT_TRADE, [{"price": "not a price"}, good, {"volume": 1}])
        sim.hubs.market_event(cid, s.EVENT_TRADE, good)  # a single object instead of an array
        sim.hubs.market_event(cid, s.EVENT_TRADE, "garbage")
        sim.hubs.market_event(cid, s.EVENT_QUOTE, {"bestBid": {"nested": True}})
        first = await rec.wait_for(TradesEvent)
        assert [(t.price, t.size) for t in first.ticks] == [(Decimal("21005"), 4)]
        second = await rec.wait_for(TradesEvent, lambda e: e is not first)
        assert second.ticks[0].price == Decimal("21005")
        mark = rec.mark()
        await sim.market.trade(cid, "21006", 1)
        assert (await rec.wait_for(TradesEvent, after=mark)).ticks[0].price == Decimal("21006")
        assert hub.stats["malformed"] == 4
        assert hub.stats["connects"] == 1  # never dropped
    finally:
        await hub.stop()


async def test_user_hub_orders_fills_positions_and_close(sim: SimGateway, px: ProjectXClient) -> None:
    rec = Recorder()
    hub = UserHub(sim.user_hub_url, rec, px.tokens.current, reconnect_delays_s=(0.05,))
    assert isinstance(hub, UserStream)
    acct, cid = sim.account_id, sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_accounts()
        await hub.subscribe_account(acct)
        await sim.market.quote(cid, "21000", "21000.25")
        tag = f"u-{uuid.uuid4().hex[:10]}"
        oid = await px.place_order(OrderRequest(acct, cid, Side.BUY, OrderType.MARKET, 2, tag))
        filled = await rec.wait_for(OrderEvent, lambda e: e.order.id == oid and e.order.status is OrderStatus.FILLED)
        assert filled.order.custom_tag == tag and filled.order.fill_volume == 2
        fill = await rec.wait_for(FillEvent, lambda e: e.fill.order_id == oid)
        assert (fill.fill.side, fill.fill.size, fill.fill.pnl) == (Side.BUY, 2, None)
        pos = await rec.wait_for(PositionEvent, lambda e: not e.closed)
        assert (pos.position.side, pos.position.size) == (PositionSide.LONG, 2)
        await px.close_position(acct, cid)
        flat = await rec.wait_for(PositionEvent, lambda e: e.closed)
        assert flat.position.contract_id == cid and flat.position.size == 0
        await rec.wait_for(AccountEvent, lambda e: e.account.id == acct)
        # After a drop the account subscriptions are renewed too.
        sim.faults.drop_hubs("user")
        mark = rec.mark()
        await rec.status(StreamState.RECONNECTED, mark)
        oid2 = await px.place_order(OrderRequest(acct, cid, Side.SELL, OrderType.LIMIT, 1, tag + "b", Decimal("22000")))
        await rec.wait_for(OrderEvent, lambda e: e.order.id == oid2, after=mark)
    finally:
        await hub.stop()


async def test_start_fails_with_a_stream_error_on_a_bad_token(sim: SimGateway) -> None:
    hub = MarketHub(sim.market_hub_url, Recorder(), lambda: "not-a-token", connect_timeout_s=5.0)
    with pytest.raises(StreamError) as info:
        await hub.start()
    assert "Could not connect the market feed" in str(info.value)
    assert not hub.connected
