"""The executor's route: a share of orders by customTag hash, and its circuit breaker moving orders
to Python when the Rust path keeps failing (a native executor that fails like a panic or a binding
error stands in for a broken build, as in test_execution_fallback.py)."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.integration.test_execution_fallback import Broken
from trading import native
from trading.breaker import Bounds, Trip
from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.engine.order_path import RoutedExecutor
from trading.execution import PythonExecutor, RustExecutor
from trading.projectx.rest import ProjectXClient
from trading.sim.gateway import SimGateway

EX = native.Component.EXECUTOR


@pytest.fixture
async def sim_px() -> AsyncIterator[tuple[SimGateway, ProjectXClient]]:
    async with SimGateway(SimSettings(port=0)) as sim:
        settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
        async with ProjectXClient(settings) as px:
            await px.login()
            yield sim, px


def limit(sim: SimGateway, tag: str | None = None) -> OrderRequest:
    return OrderRequest(
        sim.account_id, sim.contract("MNQ"), Side.BUY, OrderType.LIMIT, 1, tag or f"rt-{uuid.uuid4().hex[:10]}",
        limit_price=Decimal("100.25"),
    )  # fmt: skip


async def test_the_rust_share_follows_the_tag_hash(sim_px: tuple[SimGateway, ProjectXClient]) -> None:
    sim, px = sim_px
    routed = RoutedExecutor(await RustExecutor.create(px), PythonExecutor(px))
    native.set_route(EX, "rust", 50)
    tags = [f"share-{i}" for i in range(12)]
    paths = [(await routed.place(limit(sim, t))).path for t in tags]
    assert paths == ["rust" if zlib.crc32(t.encode()) % 100 < 50 else "python" for t in tags]
    assert {"rust", "python"} <= set(paths)
    assert [native.executor_uses_rust(t) for t in tags] == [p == "rust" for p in paths]  # the same tag, the same path
    native.set_route(EX, "python")
    assert (await routed.place(limit(sim))).path == "python" and routed.path == "python"
    assert len(sim.exchange.orders) == 13


async def test_a_forced_rust_error_rate_moves_orders_to_python(sim_px: tuple[SimGateway, ProjectXClient]) -> None:
    sim, px = sim_px
    native.set_bounds(Bounds(window=4, min_calls=3, max_error_rate=0.5))
    trips: list[Trip] = []
    stop = native.on_trip(trips.append)
    broken = Broken()
    rust = RustExecutor(broken, px)
    routed = RoutedExecutor(rust, rust.fallback)
    try:
        got = [(await routed.place(limit(sim))).path for _ in range(3)]  # each served by Python after the Rust failure
        assert got == ["python"] * 3 and broken.calls == 3 and routed.fallbacks == 3
        assert [t.component for t in trips] == ["executor"] and "3 of the last 3 Rust calls failed" in trips[0].reason
        assert native.route(EX) == "python" and routed.path == "python"
        await routed.place(limit(sim))
        assert broken.calls == 3  # the breaker is open: the Rust path is not tried any more
        state = native.state(EX)
        assert (state.configured, state.effective, state.breaker_open, state.fallbacks) == ("rust", "python", True, 1)
        assert len(sim.exchange.orders) == 4  # nothing doubled, nothing lost
        assert native.reset(EX) and native.route(EX) == "rust"
    finally:
        stop()


def test_a_breaker_on_probation_closes_by_itself() -> None:
    from trading.breaker import Breaker

    now = [0.0]
    b = Breaker("bars", Bounds(window=2, min_calls=2, max_error_rate=0.4, probation_s=30), lambda: now[0])
    b.record(False)
    b.record(False)
    assert b.open and b.trips == 1
    now[0] = 29.0
    assert b.open
    now[0] = 30.0
    assert not b.open and b.reason == ""


def test_latency_past_the_bound_trips() -> None:
    from trading.breaker import Breaker

    b = Breaker("executor", Bounds(window=5, min_calls=5, max_error_rate=1.0, max_p95_ms=50))
    for ms in (10, 12, 11, 9):
        b.record(True, ms)
    assert not b.open
    b.record(True, 80)
    assert b.open and "p95 latency 80.0 ms" in b.reason


def test_bad_routes_are_refused_and_change_nothing() -> None:
    with pytest.raises(ValueError, match="cannot run in shadow"):
        native.set_route(EX, "shadow")
    with pytest.raises(ValueError, match="0-100"):
        native.set_route(EX, "rust", 101)
    with pytest.raises(ValueError, match="only the executor"):
        native.set_route(native.Component.BARS, "rust", 10)
    with pytest.raises(ValueError, match="unknown component"):
        native.component("ticker")
    assert native.configured(EX) == "rust" and native.rust_share() == 100


async def test_a_slow_rust_executor_past_its_latency_bound_moves_orders_to_python(
    sim_px: tuple[SimGateway, ProjectXClient],
) -> None:
    """The real Rust executor against the simulator, its answers held back (the simulator's delay fault,
    ten times the bound): the breaker's p95 bound trips and the next order goes through httpx."""
    sim, px = sim_px
    native.set_bounds(Bounds(window=3, min_calls=3, max_error_rate=1.0, max_p95_ms=50))
    rust = await RustExecutor.create(px)
    routed = RoutedExecutor(rust, rust.fallback)
    sim.faults.apply({"kind": "delay_after", "path": "/api/Order/place", "count": 3, "seconds": 0.5})
    got = [(await routed.place(limit(sim))).path for _ in range(3)]
    assert got == ["rust"] * 3
    state = native.state(EX)
    assert state.breaker_open and "p95 latency" in state.reason and state.effective == "python"
    assert (await routed.place(limit(sim))).path == "python"
    assert len(sim.exchange.orders) == 4 and routed.fallbacks == 0  # nothing failed, nothing doubled
