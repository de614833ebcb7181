"""How Rust executor results cross back into asyncio (`into_awaitable` in rust_ext/src/python/bridge.rs):
many calls in flight at once all complete (the loop's inbox is drained in batches), a cancelled call
does not disturb the ones after it, and each new event loop gets its own wake-up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from trading import native
from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.execution import RustExecutor
from trading.projectx.rest import ProjectXClient
from trading.sim.gateway import SimGateway

pytestmark = pytest.mark.skipif(not native.enabled(), reason=f"Rust path not active: {native.describe()}")


@pytest.fixture
async def rust() -> AsyncIterator[tuple[SimGateway, RustExecutor]]:
    async with SimGateway(SimSettings(port=0)) as sim:
        settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
        async with ProjectXClient(settings) as px:
            await px.login()
            yield sim, await RustExecutor.create(px)


def _limit(sim: SimGateway) -> OrderRequest:
    return OrderRequest(
        sim.account_id,
        sim.contract("MNQ"),
        Side.BUY,
        OrderType.LIMIT,
        1,
        uuid.uuid4().hex,
        limit_price=Decimal("20000"),
    )


async def test_many_calls_in_flight_all_complete(rust: tuple[SimGateway, RustExecutor]) -> None:
    sim, ex = rust
    placed = await asyncio.gather(*(ex.place(_limit(sim)) for _ in range(40)))
    ids = [p.value for p in placed]
    assert len(set(ids)) == 40 and all(p.path == "rust" for p in placed)
    await asyncio.gather(*(ex.cancel(sim.account_id, oid) for oid in ids))
    assert ex.fallbacks == 0


async def test_a_cancelled_call_does_not_disturb_the_next(rust: tuple[SimGateway, RustExecutor]) -> None:
    sim, ex = rust
    task = asyncio.ensure_future(ex._rs.noop())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    slow = asyncio.ensure_future(ex.place(_limit(sim)))
    await asyncio.sleep(0)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert (await ex._rs.noop()).outcome == "ok"
    oid = (await ex.place(_limit(sim))).value
    await ex.cancel(sim.account_id, oid)
    assert ex.fallbacks == 0


def test_each_event_loop_gets_its_own_wake_up() -> None:
    mod = native.module()
    assert mod is not None
    rs = mod.OrderExecutor("http://127.0.0.1:9", "token")

    async def twice() -> list[str]:
        return [(await rs.noop()).outcome, (await rs.noop()).outcome]

    for _ in range(3):  # a fresh loop each time; the closed ones are forgotten
        assert asyncio.run(twice()) == ["ok", "ok"]
