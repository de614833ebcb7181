"""The signalrcore hub tests of `test_realtime_hubs.py` and `test_realtime_canonical.py`, run unchanged
on the Rust stream (`RustMarketStream` / `RustUserStream` in place of `MarketHub` / `UserHub`): decode
and merge, re-subscription after a dropped connection, the stale alert and forced reconnect after a
silent stall (and none outside market hours), rebuilds with a refreshed token (also refused until the
client logs in again), GatewayLogout, malformed payloads, the user hub's drop and renewal, a bad
token at start. Supervision and watchdog run in Rust (`HubClient`). Each runs both ways the Rust stream
reads a hub: on the event loop's own thread (plain ws:// hubs, such as the simulator's) and by a tokio
reader (the way of https hubs, forced here with `read_on_loop = False`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.integration.projectx import test_realtime_canonical as canonical
from tests.integration.projectx import test_realtime_hubs as hubs
from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustMarketStream, RustUserStream
from trading.sim.gateway import SimGateway

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")


@pytest.fixture(params=[True, False], ids=["read_on_loop", "tokio_reader"])
def rust_hubs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Swap the hub classes of both test modules for the Rust ones; lists every hub built. After the
    test: every hub that connected was read the way the parameter says."""
    made: list[Any] = []
    on_loop: bool = request.param

    class Market(RustMarketStream):
        read_on_loop = on_loop

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    class User(RustUserStream):
        read_on_loop = on_loop

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    for module in (hubs, canonical):
        monkeypatch.setattr(module, "MarketHub", Market)
        monkeypatch.setattr(module, "UserHub", User)
    yield made
    for hub in made:
        client = hub._client
        if client is not None and client.connects:
            assert (client.loop_connections > 0) == on_loop, (client.connects, client.loop_connections)


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


WITH_PX: list[Callable[[SimGateway, ProjectXClient], Awaitable[None]]] = [
    hubs.test_market_events_are_decoded_merged_and_batched,
    hubs.test_resubscribes_after_a_dropped_connection,
    hubs.test_silent_stall_raises_an_alert_and_reconnects,
    hubs.test_no_stale_alert_outside_market_hours,
    hubs.test_token_refresh_rebuilds_the_connection_with_the_new_token,
    hubs.test_reconnect_refused_until_the_client_logs_in_again,
    hubs.test_gateway_logout_is_an_alert,
    hubs.test_malformed_payloads_are_skipped_and_the_stream_goes_on,
    hubs.test_user_hub_orders_fills_positions_and_close,
]
WITH_SIM: list[Callable[[SimGateway], Awaitable[None]]] = [
    hubs.test_start_fails_with_a_stream_error_on_a_bad_token,
    canonical.test_canonical_market_frames,
    canonical.test_canonical_user_frames,
]


@pytest.mark.parametrize("test", WITH_PX, ids=lambda t: t.__name__)
async def test_on_the_rust_stream(test: Any, rust_hubs: list[object], sim: SimGateway, px: ProjectXClient) -> None:
    await test(sim, px)
    assert rust_hubs


@pytest.mark.parametrize("test", WITH_SIM, ids=lambda t: t.__name__)
async def test_on_the_rust_stream_sim_only(test: Any, rust_hubs: list[object], sim: SimGateway) -> None:
    await test(sim)
    assert rust_hubs


async def test_background_token_refresh_on_the_rust_stream(rust_hubs: list[object]) -> None:
    await hubs.test_background_refresh_before_expiry_reaches_the_hub()
    assert rust_hubs
