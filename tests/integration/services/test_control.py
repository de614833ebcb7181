"""Operator control of one strategy in a running engine: stop/start persisted across a restart,
run-now through the usual guards (risk, once per side, idempotent tags), and a dry run that places nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.config import Settings
from trading.demo.day import barrier
from trading.services import EngineControl, Unavailable
from trading.store import Store

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


async def test_a_dry_run_shows_the_open_orders_and_places_nothing(store: Store) -> None:
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _):
        before = len(await store.outbox.recent(500))
        plan = await EngineControl(engine).dry_run("overnight_range")
        assert sorted(plan) == ["MES", "MNQ"]
        mnq = plan["MNQ"]
        assert mnq["levels"]["onh"] is not None and mnq["levels"]["onl"] is not None
        assert len(mnq["orders"]) == 2, mnq
        long, short = mnq["orders"]
        assert long.startswith("BUY 1 stop @ ") and "bracket SL -" in long and "TP " in long
        assert short.startswith("SELL 1 stop @ ")
        assert day.tagged() == {}  # nothing reached the broker
        for tag in TAGS:
            assert await store.orders.by_tag(tag) is None  # not even an intent
        assert len(await store.outbox.recent(500)) == before
        assert await store.strategy_state.for_day("overnight_range", DAY.date) == {}


async def test_a_dry_run_says_why_a_side_is_skipped(store: Store) -> None:
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, counter):
        plan = await EngineControl(engine).dry_run("overnight_range")
        level = plan["MNQ"]["orders"][0].split(" @ ")[1].split()[0]
        at = DAY.rth_open + timedelta(seconds=20)
        await day.trade("MNQ", level, at)  # already at the long entry
        await barrier(engine, counter, at)
        plan = await EngineControl(engine).dry_run("overnight_range")
        assert len(plan["MNQ"]["orders"]) == 1 and plan["MNQ"]["orders"][0].startswith("SELL")
        assert any(s.startswith(f"buy at {level}: no chase") for s in plan["MNQ"]["skipped"]), plan["MNQ"]
        assert day.tagged() == {}


async def test_stop_survives_a_restart_and_start_then_run_now_places_each_entry_once(store: Store) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        async with engine_on(day, store) as (engine, counter):
            control = EngineControl(engine)
            assert "stopped" in await control.stop("overnight_range", "boss")
            assert "already stopped" in await control.stop("overnight_range")
            assert await store.strategy_state.enabled_overrides() == {"overnight_range": False}
        for sym in ("MNQ", "MES"):
            await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
        async with engine_on(day, store) as (engine, counter):
            control = EngineControl(engine)
            assert control.status("overnight_range")["running"] is False
            with pytest.raises(Unavailable, match="start it"):
                await control.run_now("overnight_range")
            from trading.strategies.base import SessionEvent

            assert await engine.session_event(SessionEvent.OPEN, DAY) == 0  # a stopped strategy sees no open
            assert day.tagged() == {}
            assert "started" in await control.start("overnight_range", "boss")
            assert await store.strategy_state.enabled_overrides() == {"overnight_range": True}
            said = await control.run_now("overnight_range")
            assert "ran the open step of 2026-02-10" in said and "4 order(s)" in said, said
            await barrier(engine, counter, None)
            assert sorted(day.tagged()) == sorted(TAGS)
            again = await control.run_now("overnight_range")  # once per side: nothing new
            assert "0 order(s)" in again
            await barrier(engine, counter, None)
            assert all(len(ids) == 1 for ids in day.tagged().values())


async def test_run_now_before_the_first_step_and_risk_still_applies(store: Store) -> None:
    async with sim_day(DAY.window_start + timedelta(hours=1)) as day, engine_on(day, store) as (engine, _):
        with pytest.raises(Unavailable, match="first step of 2026-02-10 \\(pre_open\\) is at 09:25 New York"):
            await EngineControl(engine).run_now("overnight_range")
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, counter):
        from trading.risk import KillMode

        engine.risk.trip(KillMode.HALTED, "operator", day.clock.now())
        said = await EngineControl(engine).run_now("overnight_range")
        assert "0 order(s)" in said
        await barrier(engine, counter, None)
        assert day.tagged() == {}


async def test_a_strategy_not_loaded_at_start_is_added_with_its_contracts_and_kept_after_a_restart(
    store: Store,
) -> None:
    data: dict[str, Any] = {"strategies": {"ema_cross": {"symbols": ["MBT"]}}}
    settings = Settings(**data)
    async with sim_day(DAY.rth_open) as day:
        async with engine_on(day, store, settings) as (engine, _):
            control = EngineControl(engine)
            assert control.names() == ["overnight_range", "ema_cross"]
            assert control.status("ema_cross")["running"] is False and "MBT" not in engine.contracts
            assert "ema_cross started (MBT)" in await control.start("ema_cross", "boss")
            assert control.status("ema_cross")["running"] is True
            assert engine.contracts["MBT"].id in engine.books  # subscribed on the market hub, depth too
        async with engine_on(day, store, settings) as (engine, _):
            assert "ema_cross" in engine.strategies and "MBT" in engine.contracts
            assert EngineControl(engine).status("ema_cross")["running"] is True
