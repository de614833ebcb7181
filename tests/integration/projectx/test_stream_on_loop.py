"""The Rust stream reading a plain ws:// hub on the event loop's own thread (`read_on_loop`,
rust_ext/src/python/realtime/on_loop.rs): the loop watches the hub's socket and the client's wake-up
socketpair, a dropped connection's descriptor is given back and the new one watched, and `stop()`
leaves the loop watching nothing of the client. The behaviours the tokio reader has (decode, merge,
re-subscription, watchdogs, token refresh, logout, malformed frames) run both ways in
`test_stream_supervision.py`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from tests.support.conditions import eventually
from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.projectx import schema as s
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustMarketStream
from trading.sim.gateway import SimGateway
from trading.streaming import QuoteEvent, StatusEvent, StreamEvent, StreamState

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


def watched() -> set[int]:
    """Descriptors the running loop watches for reading."""
    selector: Any = getattr(asyncio.get_running_loop(), "_selector")  # noqa: B009 - the selector loop's own
    return set(selector.get_map())


async def test_the_loop_reads_the_hub_and_gives_its_descriptors_back(sim: SimGateway) -> None:
    mnq = sim.contract("MNQ")
    events: list[StreamEvent] = []

    async def handler(batch: Sequence[StreamEvent]) -> None:
        events.extend(batch)

    def lasts() -> list[Decimal | None]:
        return [e.quote.last for e in events if isinstance(e, QuoteEvent)]

    def reconnected() -> bool:
        return any(isinstance(e, StatusEvent) and e.state is StreamState.RECONNECTED for e in events)

    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    async with ProjectXClient(settings) as px:
        await px.login()
        hub = RustMarketStream(sim.market_hub_url, handler, px.tokens.current, stale_after_s=None)
        await hub.start()
        client = hub._client
        try:
            await hub.subscribe_quotes(mnq)
            # The kick and the hub's socket, both watched by this loop; the first connection read here.
            first = client.loop_fds
            assert (client.loop_connections, len(first)) == (1, 2)
            assert set(first) <= watched()
            sim.hubs.market_event(mnq, s.EVENT_QUOTE, {"lastPrice": 21001})
            await eventually(lambda: Decimal(21001) in lasts(), "a quote read on the loop's thread")
            assert hub.stats["events"] >= 1

            sim.hubs.drop("market")  # an abrupt cut: the loop sees the socket's end
            await eventually(reconnected, "the stream reconnected")
            await eventually(lambda: client.loop_connections == 2, "the new connection taken by the loop")
            assert len(client.loop_fds) == 2 and set(client.loop_fds) <= watched()
            await eventually(lambda: sim.hubs.count("market") == 1, "re-subscribed on the new connection")
            sim.hubs.market_event(mnq, s.EVENT_QUOTE, {"lastPrice": 21002})
            await eventually(lambda: Decimal(21002) in lasts(), "a quote on the new connection")
            last = client.loop_fds
        finally:
            await hub.stop()
        assert client.loop_fds == [] and not set(last) & watched()
        assert isinstance(events[-1], StatusEvent) and events[-1].state is StreamState.STOPPED


async def test_without_read_on_loop_the_tokio_reader_serves(sim: SimGateway) -> None:
    mnq = sim.contract("MNQ")
    events: list[StreamEvent] = []

    async def handler(batch: Sequence[StreamEvent]) -> None:
        events.extend(batch)

    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    async with ProjectXClient(settings) as px:
        await px.login()
        hub = RustMarketStream(sim.market_hub_url, handler, px.tokens.current, stale_after_s=None)
        hub.read_on_loop = False
        await hub.start()
        try:
            await hub.subscribe_quotes(mnq)
            sim.hubs.market_event(mnq, s.EVENT_QUOTE, {"lastPrice": 21003})
            await eventually(
                lambda: any(isinstance(e, QuoteEvent) and e.quote.last == Decimal(21003) for e in events),
                "a quote through the tokio reader",
            )
            assert (hub._client.loop_connections, hub._client.loop_fds) == (0, [])
        finally:
            await hub.stop()
