"""An admin's route changes: through the services (what /stats route-set and a running instance's
`tradebot route set` call) on a running engine, a stream moves at once and the change is stored and
audited (who, old -> new); a bad route changes nothing; a breaker's reset is audited too. And the
`tradebot route` command as a real process with no instance running: stored for the next start."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.engine.test_healing import fast_healing
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from tests.support.processes import run_command
from trading import native
from trading.projectx.failover import FailoverMarketStream
from trading.services import BadInput, Services
from trading.services.commands import carry_out
from trading.store import Store

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")


async def test_an_admin_moves_the_market_stream_and_the_executor_share(store: Store) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(minutes=5)) as day,
        engine_on(day, store, fast_healing()) as (engine, _counter),
    ):
        services = Services(engine)
        market = engine.market_stream
        assert isinstance(market, FailoverMarketStream) and market.path == "rust"

        view = await services.set_route("market_stream", "python", by="admin#1")
        assert market.path == "python"
        await eventually(lambda: market.connected, "signalrcore connected")
        assert {s.component: s.effective for s in view.routes}["market_stream"] == "python"

        result = await carry_out(
            services, "route_set", {"component": "executor", "mode": "rust", "share": 30, "by": "cli"}
        )
        executor = next(r for r in result["routes"] if r["component"] == "executor")
        assert (executor["share"], executor["text"]) == (30, "rust (30 % of orders)")

        bad: tuple[str, str, int | None]
        for bad in (
            ("executor", "shadow", None),
            ("bars", "rust", 10),
            ("ticker", "rust", None),
            ("bars", "fast", None),
        ):
            with pytest.raises(BadInput, match="nothing changed"):
                await services.set_route(bad[0], bad[1], bad[2], "admin#1")
        with pytest.raises(BadInput, match="already routed"):
            await services.set_route("market_stream", "python", by="admin#1")
        with pytest.raises(BadInput, match="not held on Python"):
            await services.reset_route("executor", by="admin#1")

        native.breaker(native.Component.EXECUTOR).trip("a test trip")

        async def audited() -> bool:
            return any(c.changed_by == "breaker" for c in await store.routes.changes())

        await eventually(audited, "the trip audited")
        await services.reset_route("executor", by="admin#2")
        assert native.route(native.Component.EXECUTOR) == "rust"

        changes = [
            (c.component, c.old_route, c.new_route, c.changed_by) for c in reversed(await store.routes.changes())
        ]
        assert changes == [
            ("market_stream", "rust", "python", "admin#1"),
            ("executor", "rust 100 %", "rust 30 %", "cli"),
            ("executor", "rust 30 %", "python", "breaker"),
            ("executor", "python", "rust 30 %", "admin#2"),
        ]
        stored = {r.component: (r.mode, r.rust_share, r.changed_by) for r in await store.routes.all()}
        assert stored == {"market_stream": ("python", None, "admin#1"), "executor": ("rust", 30, "cli")}
        health = await services.runtime()
        assert {s.component: s.fallbacks for s in health.routes}["executor"] == 1


async def test_the_route_command_without_an_instance_stores_for_the_next_start(store: Store, database_url: str) -> None:
    env = {"TRADEBOT_DATABASE__URL": database_url}
    code, out, err = await run_command("trading.cli", "route", "set", "bars", "shadow", **env)
    assert code == 0, err
    assert "bars: rust → shadow" in out
    code, _out, err = await run_command("trading.cli", "route", "set", "executor", "shadow", **env)
    assert code == 2 and "cannot run in shadow" in err and "nothing changed" in err
    code, _out, err = await run_command("trading.cli", "route", "reset", "bars", **env)
    assert code == 2 and "no instance runs" in err
    code, out, err = await run_command("trading.cli", "route", "show", "--json", **env)
    assert code == 0, err
    shown = json.loads(out)
    assert {r["component"]: r["configured"] for r in shown["routes"]}["bars"] == "shadow"
    assert [(c["component"], c["old"], c["new"]) for c in shown["changes"]] == [("bars", "rust", "shadow")]
    assert [(r.component, r.mode) for r in await store.routes.all()] == [("bars", "shadow")]


async def test_an_admin_puts_the_market_stream_in_shadow_and_parity_counts_it(store: Store) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(minutes=5)) as day,
        engine_on(day, store, fast_healing()) as (engine, _counter),
    ):
        services = Services(engine)
        market = engine.market_stream
        assert isinstance(market, FailoverMarketStream)
        await services.set_route("market_stream", "shadow", by="admin#1")
        assert market.path == "python" and market.shadow is not None
        await eventually(lambda: market.connected and market.shadow is not None and market.shadow.connected, "both")
        for i in range(5):
            await day.trade("MNQ", Decimal(day.sim.exchange.books[day.cid("MNQ")].last or 0) + Decimal(i) / 4)

        async def compared() -> bool:
            return (await services.parity()).compared.get("market_stream", 0) >= 5

        await eventually(compared, "the market events compared")
        view = await services.parity()
        assert view.mismatches == []
        await services.set_route("market_stream", "rust", by="admin#1")
        assert market.path == "rust" and market.shadow is None
