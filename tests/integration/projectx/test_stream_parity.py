"""Stream parity: the same simulated session through the signalrcore hubs (`realtime.py`) and the Rust
stream (`stream_rust.py`) gives identical events. Plus the Rust stream's own supervision (re-subscribe
after a drop, watchdog)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.waits import eventually
from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.projectx import schema as s
from trading.projectx.lazy_quote import LazyQuote
from trading.projectx.realtime import MarketHub, UserHub
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustMarketStream, RustUserStream
from trading.sim.gateway import SimGateway
from trading.streaming import (
    AccountEvent,
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

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
WAIT_S = 10.0


class Recorder:
    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self.changed = asyncio.Event()

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        self.events.extend(batch)
        self.changed.set()

    async def until(self, pred: Any) -> None:
        async def loop() -> None:
            while not pred(self.events):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), WAIT_S)

    def data(self) -> list[StreamEvent]:
        return [_norm(e) for e in self.events if not isinstance(e, StatusEvent)]

    def states(self) -> list[StreamState]:
        return [e.state for e in self.events if isinstance(e, StatusEvent)]


def _norm(e: StreamEvent) -> StreamEvent:
    """Drop the receive times (`ts_init`): they differ between two live paths by nature."""
    if isinstance(e, QuoteEvent):
        return QuoteEvent(dataclasses.replace(e.quote, ts_init=None))
    if isinstance(e, TradesEvent):
        return TradesEvent(e.contract_id, tuple(dataclasses.replace(t, ts_init=None) for t in e.ticks))
    if isinstance(e, FillEvent):
        return FillEvent(dataclasses.replace(e.fill, ts_init=None))
    return e


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


def _has_last_quote(price: str) -> Any:
    def pred(events: list[StreamEvent]) -> bool:
        return any(isinstance(e, QuoteEvent) and e.quote.last == Decimal(price) for e in events)

    return pred


def _has_last_trade(price: str) -> Any:
    def pred(events: list[StreamEvent]) -> bool:
        return any(isinstance(e, TradesEvent) and e.ticks[-1].price == Decimal(price) for e in events)

    return pred


async def test_market_session_is_identical_on_both_paths(sim: SimGateway, px: ProjectXClient) -> None:
    cid = sim.contract("MNQ")
    py_rec, rs_rec = Recorder(), Recorder()
    common: dict[str, Any] = {"stale_after_s": None, "reconnect_delays_s": (0.05,)}
    py_hub = MarketHub(sim.market_hub_url, py_rec, px.tokens.current, **common)
    rs_hub = RustMarketStream(sim.market_hub_url, rs_rec, px.tokens.current, **common)
    assert isinstance(rs_hub, MarketStream)
    for hub in (py_hub, rs_hub):
        await hub.start()
        for sub in (hub.subscribe_quotes, hub.subscribe_trades, hub.subscribe_depth):
            await sub(cid)
    try:
        # Each subscriber gets its own snapshot quote, stamped at its own subscription: not compared.
        for rec in (py_rec, rs_rec):
            await rec.until(lambda ev: any(isinstance(e, QuoteEvent) for e in ev))
            rec.events = [e for e in rec.events if not isinstance(e, QuoteEvent)]
        t0 = datetime(2026, 3, 8, 6, 58, tzinfo=UTC)  # crosses the spring-forward instant (07:00Z)
        price = Decimal("21000")
        for i in range(60):
            at = t0 + timedelta(seconds=7 * i)
            if i % 3 == 0:
                await sim.market.quote(cid, price - Decimal("0.25"), price + Decimal("0.25"), at=at)
            await sim.market.trade(cid, price, 1 + i % 4, at=at)
            price += Decimal("0.25") * (1 if i % 5 else -3)
        sim.hubs.market_event(cid, s.EVENT_QUOTE, {"bestBid": 20999.75, "timestamp": "2026-03-08T07:30:00Z"})
        sim.hubs.market_event(cid, s.EVENT_QUOTE, {"lastPrice": "not a price"})  # malformed: skipped by both
        good = {"price": 21010.5, "timestamp": "2026-03-08T07:31:00Z", "type": 1, "volume": 2}
        sim.hubs.market_event(cid, s.EVENT_TRADE, [{"price": 1}, good])  # the bad entry alone is skipped
        await sim.market.trade(cid, "21111", 1, at=t0 + timedelta(minutes=40))
        for rec in (py_rec, rs_rec):  # the last print, and the quote the simulator sends after it
            await rec.until(_has_last_trade("21111"))
            await rec.until(_has_last_quote("21111"))
        assert rs_rec.data() == py_rec.data()
        assert len(rs_rec.data()) > 60
        # Rust builds its quote events itself: lazy quotes, off the cycle collector's lists.
        rs_quotes = [e for e in rs_rec.events if isinstance(e, QuoteEvent)]
        assert rs_quotes and all(type(e.quote) is LazyQuote for e in rs_quotes)
        assert not any(gc.is_tracked(e) or gc.is_tracked(e.quote) for e in rs_quotes)
        last_rs, last_py = rs_hub.last_quote(cid), py_hub.last_quote(cid)
        assert last_rs is not None and last_py is not None
        assert dataclasses.replace(last_rs, ts_init=None) == dataclasses.replace(last_py, ts_init=None)
        assert rs_hub.stats["malformed"] >= 1
    finally:
        await py_hub.stop()
        await rs_hub.stop()
    assert py_rec.states() == rs_rec.states() == [StreamState.CONNECTED, StreamState.STOPPED]


async def test_user_session_is_identical_on_both_paths(sim: SimGateway, px: ProjectXClient) -> None:
    cid = sim.contract("MNQ")
    await sim.market.quote(cid, "21000", "21000.25")
    py_rec, rs_rec = Recorder(), Recorder()
    py_hub = UserHub(sim.user_hub_url, py_rec, px.tokens.current, stale_after_s=None)
    rs_hub = RustUserStream(sim.user_hub_url, rs_rec, px.tokens.current, stale_after_s=None)
    assert isinstance(rs_hub, UserStream)
    for hub in (py_hub, rs_hub):
        await hub.start()
        await hub.subscribe_accounts()
        await hub.subscribe_account(sim.account_id)
    try:
        tag = uuid.uuid4().hex[:8]
        oid = await px.place_order(
            OrderRequest(sim.account_id, cid, Side.BUY, OrderType.LIMIT, 1, f"u-{tag}", limit_price=Decimal("20000"))
        )
        await px.cancel_order(sim.account_id, oid)
        await px.place_order(OrderRequest(sim.account_id, cid, Side.BUY, OrderType.MARKET, 2, f"v-{tag}"))
        await px.close_position(sim.account_id, cid)

        def fills(n: int) -> Any:
            return lambda ev: sum(isinstance(e, FillEvent) for e in ev) >= n

        for rec in (py_rec, rs_rec):
            await rec.until(fills(2))
        await asyncio.sleep(0.2)  # let trailing position/account events arrive on both
        assert rs_rec.data() == py_rec.data()
        assert len(rs_rec.data()) >= 6
    finally:
        await py_hub.stop()
        await rs_hub.stop()


async def test_rust_stream_resubscribes_after_a_drop_and_watches_for_stalls(
    sim: SimGateway, px: ProjectXClient
) -> None:
    cid = sim.contract("MNQ")
    rec = Recorder()
    hub = RustMarketStream(
        sim.market_hub_url, rec, px.tokens.current, stale_after_s=0.3, market_hours=lambda _n: True,
        reconnect_delays_s=(0.05,),
    )  # fmt: skip
    await hub.start()
    try:
        await hub.subscribe_trades(cid)
        await sim.market.trade(cid, "21000", 1)
        await rec.until(_has_last_trade("21000"))
        assert sim.faults.drop_hubs("market") == 1
        await rec.until(lambda ev: StreamState.RECONNECTED in [e.state for e in ev if isinstance(e, StatusEvent)])
        await sim.market.trade(cid, "21001", 1)
        await rec.until(_has_last_trade("21001"))
        sim.faults.stall_hubs("market")
        await rec.until(lambda ev: StreamState.STALE in [e.state for e in ev if isinstance(e, StatusEvent)])
        sim.faults.stall_hubs("market", on=False)
        await rec.until(
            lambda ev: [e.state for e in ev if isinstance(e, StatusEvent)].count(StreamState.RECONNECTED) >= 2
        )
        await sim.market.trade(cid, "21002", 1)
        await rec.until(_has_last_trade("21002"))
        assert hub.stats["connects"] >= 3
    finally:
        await hub.stop()
    assert rec.states()[0] is StreamState.CONNECTED and rec.states()[-1] is StreamState.STOPPED


_ORDER = {"id": 1, "accountId": 465, "contractId": "C", "status": 1, "type": 1, "side": 0, "size": 1}
_USER_FRAMES: list[tuple[str, Any]] = [
    # Canonical shapes, lax values as pydantic reads them, defaults, wrappers with and without action.
    (s.EVENT_USER_ACCOUNT, {"id": "7", "name": "A", "balance": "12.5", "canTrade": "yes"}),
    (s.EVENT_USER_ACCOUNT, {"id": 8, "name": "B", "balance": 3, "canTrade": 0, "isVisible": False}),
    (s.EVENT_USER_ORDER, [{"action": 2, "data": _ORDER}, {"action": True, "data": _ORDER},
                          {"action": None, "data": _ORDER}]),
    (s.EVENT_USER_ORDER, _ORDER | {"limitPrice": "23000.25", "fillVolume": 1.0, "customTag": "t",
                                   "creationTimestamp": "2025-07-18T21:00:01.2680091Z",
                                   "updateTimestamp": "2025-07-18T23:00:01+02:00", "parentOrderId": 5}),
    (s.EVENT_USER_POSITION, {"id": 3, "accountId": 465, "contractId": "C", "type": 2, "size": -2,
                             "averagePrice": 10.5}),
    (s.EVENT_USER_POSITION, {"id": 3, "accountId": 465, "contractId": "C", "type": 2, "size": 0, "averagePrice": 10}),
    (s.EVENT_USER_POSITION, {"id": 3, "accountId": 465, "contractId": "C", "type": 0, "size": 4, "averagePrice": 10}),
    (s.EVENT_USER_TRADE, {"id": 9, "accountId": 465, "contractId": "C", "price": 1.25, "side": 1, "size": 2,
                          "orderId": 1, "creationTimestamp": "2025-01-21T16:13:52.523293+00:00", "fees": "0.37",
                          "profitAndLoss": -12.5, "voided": "false"}),
    # Malformed: each bad item is skipped alone, a non-object item fails its whole event.
    (s.EVENT_USER_ORDER, [_ORDER | {"type": 0}, _ORDER | {"side": 2}, _ORDER | {"status": 9},
                          _ORDER | {"fillVolume": None}, _ORDER | {"creationTimestamp": "yesterday"},
                          _ORDER | {"size": 1.5}, _ORDER | {"id": 42}]),
    (s.EVENT_USER_ORDER, [_ORDER, 5]),
    (s.EVENT_USER_POSITION, {"id": 3, "accountId": 465, "contractId": "C", "type": 5, "size": 1, "averagePrice": 1}),
    (s.EVENT_USER_TRADE, {"id": 9, "accountId": 465, "contractId": "C", "price": 1, "side": 1, "size": 2,
                          "orderId": 1}),
    (s.EVENT_USER_ACCOUNT, {"id": 1, "name": "A", "balance": True, "canTrade": True}),
    (s.EVENT_USER_ACCOUNT, {"id": 99, "name": "last", "balance": 1, "canTrade": True}),
]  # fmt: skip


async def test_user_payloads_decode_identically_on_both_paths(sim: SimGateway, px: ProjectXClient) -> None:
    """Canonical, lax and malformed user-hub items through both paths: same events, same skip counts."""
    py_rec, rs_rec = Recorder(), Recorder()
    py_hub = UserHub(sim.user_hub_url, py_rec, px.tokens.current, stale_after_s=None)
    rs_hub = RustUserStream(sim.user_hub_url, rs_rec, px.tokens.current, stale_after_s=None)
    for hub in (py_hub, rs_hub):
        await hub.start()
    try:
        for target, payload in _USER_FRAMES:
            frame = json.dumps({"type": 1, "target": target, "arguments": [payload]}) + s.RECORD_SEPARATOR
            for conn in sim.hubs.connections:
                if conn.hub == "user":
                    conn.send(frame)

        def last(ev: list[StreamEvent]) -> bool:
            return any(isinstance(e, AccountEvent) and e.account.id == 99 for e in ev)

        for rec in (py_rec, rs_rec):
            await rec.until(last)
        assert rs_rec.data() == py_rec.data()
        orders = [e for e in rs_rec.data() if isinstance(e, OrderEvent)]
        assert [o.action for o in orders[:3]] == [2, None, None]
        assert sum(isinstance(e, PositionEvent) and e.closed for e in rs_rec.data()) == 2
        assert rs_hub.stats["malformed"] == py_hub.stats["malformed"] == 10
    finally:
        await py_hub.stop()
        await rs_hub.stop()


async def test_status_events_are_identical_on_both_paths(sim: SimGateway, px: ProjectXClient) -> None:
    """A drop, a token refresh and a stop: the same status events (states and messages) on both paths."""
    cid = sim.contract("MNQ")
    py_rec, rs_rec = Recorder(), Recorder()
    common: dict[str, Any] = {"stale_after_s": None, "reconnect_delays_s": (0.05,)}
    py_hub = MarketHub(sim.market_hub_url, py_rec, px.tokens.current, **common)
    rs_hub = RustMarketStream(sim.market_hub_url, rs_rec, px.tokens.current, **common)
    for hub in (py_hub, rs_hub):
        hub.follow_tokens(px)
        await hub.start()
        await hub.subscribe_trades(cid)
    try:

        def count(state: StreamState, n: int) -> Any:
            return lambda ev: [e.state for e in ev if isinstance(e, StatusEvent)].count(state) >= n

        assert sim.faults.drop_hubs("market") == 2
        for rec in (py_rec, rs_rec):
            await rec.until(count(StreamState.RECONNECTED, 1))
        await px.refresh_token()
        for rec in (py_rec, rs_rec):
            await rec.until(count(StreamState.TOKEN_REFRESHED, 1))
        await sim.market.trade(cid, "21000", 1)
        for rec in (py_rec, rs_rec):
            await rec.until(_has_last_trade("21000"))
        assert rs_hub.stats["connects"] == py_hub.stats["connects"] == 3
    finally:
        await py_hub.stop()
        await rs_hub.stop()

    def statuses(rec: Recorder) -> list[tuple[StreamState, str, bool]]:
        return [(e.state, e.message, e.is_alert) for e in rec.events if isinstance(e, StatusEvent)]

    assert statuses(rs_rec) == statuses(py_rec)
    assert [s for s, _m, _a in statuses(rs_rec)] == [
        StreamState.CONNECTED,
        StreamState.DISCONNECTED,
        StreamState.RECONNECTED,
        StreamState.RECONNECTED,
        StreamState.TOKEN_REFRESHED,
        StreamState.STOPPED,
    ]


async def test_a_rust_built_quote_is_stamped_when_its_frame_came_off_the_socket(
    sim: SimGateway, px: ProjectXClient
) -> None:
    """ts_init of the quotes Rust builds is its batch's `batch_seen_ns` (the oldest frame off the socket,
    before decoding), as for every other record: not the moment Python got the batch, which would leave
    the decoding and the hand-off to the loop's thread out of every span that starts at ts_init."""
    cid = sim.contract("MNQ")
    seen: list[tuple[datetime, int]] = []  # (a quote's ts_init, its batch's batch_seen_ns)
    hub: RustMarketStream

    async def record(batch: Sequence[StreamEvent]) -> None:
        ns = hub._client.batch_seen_ns  # the batch being delivered: the next is taken after this returns
        seen.extend((e.quote.ts_init, ns) for e in batch if isinstance(e, QuoteEvent) and e.quote.ts_init)

    hub = RustMarketStream(sim.market_hub_url, record, px.tokens.current, stale_after_s=None)
    await hub.start()
    try:
        await hub.subscribe_quotes(cid)
        for i in range(20):
            await sim.market.quote(cid, Decimal("21000") + i, Decimal("21000.25") + i)
        async def twenty() -> bool:
            return len(seen) >= 20

        await eventually(twenty)
    finally:
        await hub.stop()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert all(ns > 0 and ts == epoch + timedelta(microseconds=ns // 1000) for ts, ns in seen), seen[:3]
