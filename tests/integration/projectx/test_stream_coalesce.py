"""The Rust market stream's quote coalescing (`coalesce_quotes=True`): a batch carries each contract's
last quote only, nothing of the merged state is lost, and every quote received is either delivered or
counted as coalesced."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import pytest

from tests.support.conditions import eventually
from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.projectx import schema as s
from trading.projectx.rest import ProjectXClient
from trading.projectx.stream_rust import RustMarketStream
from trading.sim.gateway import SimGateway
from trading.streaming import QuoteEvent, StreamEvent

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
N = 200


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


async def test_a_batch_carries_each_contracts_last_quote_and_none_goes_missing(sim: SimGateway) -> None:
    mnq, mes = sim.contract("MNQ"), sim.contract("MES")
    batches: list[list[QuoteEvent]] = []

    async def handler(batch: Sequence[StreamEvent]) -> None:
        batches.append([e for e in batch if isinstance(e, QuoteEvent)])

    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    async with ProjectXClient(settings) as px:
        await px.login()
        hub = RustMarketStream(sim.market_hub_url, handler, px.tokens.current, stale_after_s=None, coalesce_quotes=True)
        await hub.start()
        try:
            for cid in (mnq, mes):
                await hub.subscribe_quotes(cid)
            await eventually(lambda: sum(len(b) for b in batches) >= 2, "both snapshots")
            start = sum(len(b) for b in batches) + hub.stats["coalesced"]
            for i in range(N):  # sent back to back: the simulator's writer packs them into few messages
                sim.hubs.market_event(mnq if i % 2 else mes, s.EVENT_QUOTE, {"lastPrice": 21000 + i, "bestBid": 1 + i})
            sim.hubs.market_event(mnq, s.EVENT_QUOTE, {"bestAsk": 30000})  # partial: merged into MNQ's last state

            def received() -> int:
                return sum(len(b) for b in batches) + hub.stats["coalesced"] - start

            await eventually(lambda: received() == N + 1, "every quote delivered or coalesced")
        finally:
            await hub.stop()
    for b in batches:
        ids = [e.quote.contract_id for e in b]
        assert len(ids) == len(set(ids)), ids
    last = {e.quote.contract_id: e.quote for b in batches for e in b}
    assert (last[mnq].last, last[mnq].bid, last[mnq].ask) == (Decimal(21000 + N - 1), Decimal(N), Decimal(30000))
    assert (last[mes].last, last[mes].bid) == (Decimal(21000 + N - 2), Decimal(N - 1))
