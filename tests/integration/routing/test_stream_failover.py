"""A Rust market stream killed mid-session: its breaker trips (once, saying why), the hub moves to
signalrcore with every subscription, and the prints go on arriving, each once and in order: none of
those the Rust stream had taken is lost, none is delivered twice. Against the simulator's hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.integration.projectx.test_realtime_hubs import Recorder
from tests.support.conditions import eventually
from trading import native
from trading.breaker import Bounds, Trip
from trading.config import ProjectXSettings, SimSettings
from trading.projectx.decode_parity import DecodeParity
from trading.projectx.failover import FailoverMarketStream, market_stream
from trading.projectx.rest import ProjectXClient
from trading.shadow import Comparator, Mismatch
from trading.sim.gateway import SimGateway
from trading.streaming import StreamState, TradesEvent

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")


@pytest.fixture
async def sim_px() -> AsyncIterator[tuple[SimGateway, ProjectXClient]]:
    async with SimGateway(SimSettings(port=0)) as sim:
        settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
        async with ProjectXClient(settings) as px:
            await px.login()
            yield sim, px


def prices(rec: Recorder) -> list[Decimal]:
    return [t.price for e in rec.events if isinstance(e, TradesEvent) for t in e.ticks]


async def test_a_killed_rust_market_stream_falls_back_to_python_without_losing_a_print(
    sim_px: tuple[SimGateway, ProjectXClient],
) -> None:
    sim, px = sim_px
    cid = sim.contract("MNQ")
    trips: list[Trip] = []
    native.on_trip(trips.append)
    rec = Recorder()
    stream = market_stream(sim.market_hub_url, rec, lambda: px.token or "")
    assert isinstance(stream, FailoverMarketStream) and stream.path == "rust"
    await stream.start()
    try:
        await stream.subscribe_trades(cid)
        await stream.subscribe_quotes(cid)
        first = [Decimal(20000) + Decimal(i) / 4 for i in range(5)]
        for p in first:
            await sim.market.trade(cid, p)
        await eventually(lambda: prices(rec) == first, "the first prints on the Rust stream")

        stream.current._client.stop()  # type: ignore[attr-defined]  # the Rust client ends on its own
        await eventually(lambda: stream.path == "python" and stream.connected, "signalrcore took the hub over")
        moved = await rec.status(StreamState.RECONNECTED)
        assert "moved from Rust to Python" in moved.message and "died" in moved.message
        assert [t.component for t in trips] == ["market_stream"] and "died" in trips[0].reason
        assert native.route(native.Component.MARKET_STREAM) == "python"
        assert not [e for e in rec.events if getattr(e, "state", None) is StreamState.STOPPED]

        later = [Decimal(20010) + Decimal(i) / 4 for i in range(5)]
        for p in later:
            await sim.market.trade(cid, p)
        await eventually(lambda: prices(rec) == first + later, "the later prints on signalrcore, each once")
        assert stream.last_quote(cid) is not None and stream.last_quote(cid).last == later[-1]  # type: ignore[union-attr]

        native.reset(native.Component.MARKET_STREAM)  # an admin moves it back
        assert await stream.follow_route() and stream.path == "rust"
        await eventually(lambda: stream.connected, "the Rust stream connected again")
        for p in (Decimal(20020),):
            await sim.market.trade(cid, p)
        await eventually(lambda: prices(rec) == [*first, *later, Decimal(20020)], "back on Rust, subscribed")
    finally:
        await stream.stop()


async def test_the_market_streams_decode_in_shadow_agrees_on_live_events(
    sim_px: tuple[SimGateway, ProjectXClient],
) -> None:
    """Route shadow: signalrcore serves, a Rust connection beside it is compared event by event
    (quotes, prints, depth); nothing it decodes is delivered, and every pair agrees."""
    sim, px = sim_px
    cid = sim.contract("MNQ")
    native.set_route(native.Component.MARKET_STREAM, "shadow")
    mismatches: list[Mismatch] = []
    comparator = Comparator("market_stream", mismatches.append)
    parity = DecodeParity(comparator)
    rec = Recorder()
    stream = market_stream(sim.market_hub_url, rec, lambda: px.token or "", parity)
    assert isinstance(stream, FailoverMarketStream)
    await stream.start()
    try:
        assert stream.path == "python" and stream.shadow is not None
        for subscribe in (stream.subscribe_trades, stream.subscribe_quotes, stream.subscribe_depth):
            await subscribe(cid)
        await eventually(lambda: stream.shadow is not None and stream.shadow.connected, "the shadow connected")
        for i in range(10):
            await sim.market.trade(cid, Decimal(20000) + Decimal(i) / 4, 1 + i % 3)
            await sim.market.quote(cid, Decimal(19999) + Decimal(i) / 4, Decimal(20001) + Decimal(i) / 4)
        await eventually(lambda: len(prices(rec)) == 10, "the served prints")
        await eventually(lambda: comparator.compared >= 30, "every event compared")
        assert mismatches == [] and comparator.mismatches == {}
        kinds = {type(e).__name__ for e in rec.events}
        assert {"TradesEvent", "QuoteEvent", "DepthEvent"} <= kinds
        assert len(prices(rec)) == 10  # the shadow's events were not delivered
    finally:
        await stream.stop()


async def test_after_its_probation_the_market_stream_moves_back_to_rust(
    sim_px: tuple[SimGateway, ProjectXClient],
) -> None:
    sim, px = sim_px
    cid = sim.contract("MNQ")
    native.set_bounds(Bounds(probation_s=0.5))
    rec = Recorder()
    stream = market_stream(sim.market_hub_url, rec, lambda: px.token or "")
    assert isinstance(stream, FailoverMarketStream)
    await stream.start()
    try:
        await stream.subscribe_trades(cid)
        stream.current._client.stop()  # type: ignore[attr-defined]
        await eventually(lambda: stream.path == "python" and stream.connected, "signalrcore took the hub over")
        n = [0]

        async def back_on_rust() -> bool:  # the move back happens on the next batch after the probation
            n[0] += 1
            await sim.market.trade(cid, Decimal(20000) + Decimal(n[0]) / 4)
            return stream.path == "rust" and stream.connected

        await eventually(back_on_rust, "back on the Rust stream after the probation", every=0.1)
        moved = [e for e in rec.events if getattr(e, "state", None) is StreamState.RECONNECTED]
        assert "probation is over" in moved[-1].message  # type: ignore[union-attr]
        await sim.market.trade(cid, Decimal(21000))
        await eventually(lambda: Decimal(21000) in prices(rec), "the next print on Rust")
        assert prices(rec).count(Decimal(21000)) == 1
    finally:
        await stream.stop()
