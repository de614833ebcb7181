"""RustExecutor falls back to the Python path for a call that fails without a broker answer (a
panic or binding error), logging once; broker answers are never re-sent through the other path."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.engine.order_path import order_path
from trading.execution import RustExecutor
from trading.projectx.errors import OrderRejected
from trading.projectx.rest import ProjectXClient
from trading.sim.gateway import SimGateway


class Broken:
    """Stands in for the native executor: every call blows up like a binding error or a panic."""

    def __init__(self) -> None:
        self.calls = 0

    def set_token(self, token: str) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            raise TypeError(f"binding error in {name}")

        return fail


class Rejecting(Broken):
    """A native executor whose place is answered by the broker with a rejection."""

    def __getattr__(self, name: str) -> Any:
        async def reject(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return type(
                "R",
                (),
                {"outcome": "rejected", "error_code": 2, "message": "no", "order_id": 77, "elapsed_ns": 5},
            )()

        return reject


@pytest.fixture
async def sim_px() -> AsyncIterator[tuple[SimGateway, ProjectXClient]]:
    async with SimGateway(SimSettings(port=0)) as sim:
        settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
        async with ProjectXClient(settings) as px:
            await px.login()
            yield sim, px


def limit(sim: SimGateway) -> OrderRequest:
    return OrderRequest(
        sim.account_id, sim.contract("MNQ"), Side.BUY, OrderType.LIMIT, 1, f"fb-{uuid.uuid4().hex[:10]}",
        limit_price=Decimal("100.25"),
    )  # fmt: skip


async def test_binding_errors_fall_back_to_python_and_log_once(
    sim_px: tuple[SimGateway, ProjectXClient], caplog: pytest.LogCaptureFixture
) -> None:
    sim, px = sim_px
    broken = Broken()
    ex = RustExecutor(broken, px)
    with caplog.at_level(logging.ERROR, logger="trading.execution"):
        a = await ex.place(limit(sim))
        b = await ex.place(limit(sim))
    assert (a.path, b.path) == ("python", "python")
    assert ex.fallbacks == 2 and broken.calls == 2
    assert len([r for r in caplog.records if "Rust executor failed on place" in r.message]) == 1
    await ex.cancel(sim.account_id, a.value)
    assert len(sim.exchange.orders) == 2


async def test_fallback_place_finds_an_order_the_rust_path_already_sent(
    sim_px: tuple[SimGateway, ProjectXClient],
) -> None:
    sim, px = sim_px
    r = limit(sim)
    first = await px.place_order(r)  # as if the Rust call had placed it before failing
    got = await RustExecutor(Broken(), px).place(r)
    assert (got.value, got.path) == (first, "python")
    assert len(sim.exchange.orders) == 1


async def test_broker_rejection_on_the_rust_path_is_not_resent(sim_px: tuple[SimGateway, ProjectXClient]) -> None:
    sim, px = sim_px
    native_ex = Rejecting()
    ex = RustExecutor(native_ex, px)
    with pytest.raises(OrderRejected) as info:
        await ex.place(limit(sim))
    assert info.value.order_id == 77 and ex.fallbacks == 0 and native_ex.calls == 1
    assert len(sim.exchange.orders) == 0


async def test_the_order_path_follows_the_switch(
    sim_px: tuple[SimGateway, ProjectXClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, px = sim_px
    monkeypatch.setenv("TRADEBOT_RUST", "0")
    assert (await order_path(px)).path == "python"
