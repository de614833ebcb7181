"""The user hub's keep-alive watchdog on both implementations (signalrcore `UserHub` and the Rust
`RustUserStream`) against the simulator over real websockets, the simulator pinging every PING_S:
a stalled hub (socket open, neither events nor pings) is declared STALE, rebuilt and delivers events
again, whatever the market hours; a quiet but healthy hub (pings, no events) is never declared stale.
`UserHub.from_settings` turns the watchdog on from `projectx.user_stale_s`; so does `build_engine`,
on the simulated gateway too, where a stale user hub is rebuilt and the engine then reconciles."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.projectx.test_realtime_hubs import Recorder
from tests.integration.projectx.test_realtime_hubs import (
    px as px,  # the logged-in client fixture, on this module's `sim`
)
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading import native
from trading.config import ProjectXSettings, Settings, SimSettings
from trading.domain import NotificationKind, OrderRequest, OrderType, Side
from trading.projectx.failover import FailoverHub
from trading.projectx.realtime import UserHub
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustUserStream
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store
from trading.streaming import OrderEvent, StatusEvent, StreamState

PING_S = 0.1  # the simulator's keep-alive period
LIMIT_S = 2.0  # the watchdog's limit: twenty ping periods, so a loaded machine never trips it


@pytest.fixture(params=["python", "rust"])
def hub_cls(request: pytest.FixtureRequest) -> type[UserHub]:
    if request.param == "rust":
        if not native.enabled():
            pytest.skip("Rust path not active")
        return RustUserStream
    return UserHub


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0), options=SimOptions(hub_ping_interval_s=PING_S)) as gateway:
        yield gateway


def user_hub(hub_cls: type[UserHub], sim: SimGateway, px: ProjectXClient, rec: Recorder) -> UserHub:
    settings = ProjectXSettings(user_hub_url=sim.user_hub_url, user_stale_s=LIMIT_S)
    # Market closed throughout: the keep-alive watchdog does not care.
    return hub_cls.from_settings(
        settings, rec, px.tokens.current, market_hours=lambda _now: False, reconnect_delays_s=(0.05, 0.1)
    )


def stale_events(rec: Recorder) -> list[StatusEvent]:
    return [e for e in rec.events if isinstance(e, StatusEvent) and e.state is StreamState.STALE]


async def test_a_stalled_user_hub_is_stale_rebuilt_and_delivers_again(
    hub_cls: type[UserHub], sim: SimGateway, px: ProjectXClient
) -> None:
    rec = Recorder()
    hub = user_hub(hub_cls, sim, px, rec)
    assert hub.keepalive_stale_s == LIMIT_S and hub.stale_after_s is None
    acct, cid = sim.account_id, sim.contract("MNQ")
    await hub.start()
    try:
        await hub.subscribe_account(acct)
        await eventually(lambda: hub.frames > 0, "a keep-alive ping")
        assert sim.faults.stall_hubs("user") == 1  # socket open; no events, no pings
        stale = await rec.status(StreamState.STALE)
        assert stale.is_alert and "not even a keep-alive ping" in stale.message
        mark = rec.mark()
        await rec.status(StreamState.RECONNECTED, mark)
        mark = rec.mark()
        await sim.market.quote(cid, "21000", "21000.25")
        tag = f"k-{uuid.uuid4().hex[:10]}"
        oid = await px.place_order(OrderRequest(acct, cid, Side.BUY, OrderType.LIMIT, 1, tag, Decimal("20000")))
        order = await rec.wait_for(OrderEvent, lambda e: e.order.id == oid, after=mark)
        assert order.order.custom_tag == tag
        assert hub.stats["stale"] >= 1 and hub.stats["connects"] >= 2
    finally:
        await hub.stop()


async def test_a_quiet_user_hub_with_pings_flowing_is_not_stale(
    hub_cls: type[UserHub], sim: SimGateway, px: ProjectXClient
) -> None:
    rec = Recorder()
    hub = user_hub(hub_cls, sim, px, rec)
    await hub.start()
    try:
        await hub.subscribe_account(sim.account_id)
        await eventually(lambda: hub.frames > 0, "a keep-alive ping")
        first = hub.frames
        # The simulator pings after PING_S of quiet: this many pings span at least twice the limit.
        pings = int(2 * LIMIT_S / PING_S)
        await eventually(lambda: hub.frames - first >= pings, f"{pings} keep-alive pings")
        assert not stale_events(rec)
        assert hub.stats["stale"] == 0 and hub.stats["connects"] == 1 and hub.connected
        assert not [e for e in rec.events if not isinstance(e, StatusEvent)]  # quiet: not a single event
    finally:
        await hub.stop()


async def test_the_engine_rebuilds_a_stalled_user_hub_and_reconciles(
    hub_cls: type[UserHub], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rust = hub_cls is RustUserStream
    if not rust:
        monkeypatch.setenv("TRADEBOT_RUST", "0")  # the signalrcore hub (and the Python order path)
    settings = Settings(projectx=ProjectXSettings(user_stale_s=LIMIT_S))
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        day.sim.options.hub_ping_interval_s = PING_S  # read by each new hub connection
        async with engine_on(day, store, settings, prefer_rust=rust) as (engine, _counter):
            stream = engine.user_stream
            hub = stream.current if isinstance(stream, FailoverHub) else stream  # the implementation serving it
            assert isinstance(hub, hub_cls) and hub.keepalive_stale_s == LIMIT_S
            await eventually(lambda: hub.frames > 0, "a keep-alive ping")
            reconciles = engine.reconciles
            assert day.sim.faults.stall_hubs("user") == 1
            await eventually(lambda: hub.stats["connects"] >= 2, "the stalled user hub rebuilt")
            await eventually(lambda: engine.reconciles > reconciles, "a reconcile after the rebuild")
            alerts = [m.payload for m in await store.outbox.recent(50) if m.kind is NotificationKind.ALERT]
            assert any("not even a keep-alive ping" in str(a) for a in alerts), alerts
            await eventually(lambda: engine.ready, "the engine ready again")
