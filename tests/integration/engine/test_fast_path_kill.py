"""kill -9 of `tradebot run --paper` (the Rust overnight range with its fast path, trading/engine/fast_path.py)
between the fast path's stop move reaching the broker and Python recording it, then a restart: the stop
ends at the breakeven price at the broker, the "modified" notice is stored once, and nothing sent after
the restart changes anything (a repeat to the same price at most).

The engine runs in a subprocess against the simulator in this test process (as test_restart.py); the
simulator's exchange kills it from inside the modify request, once the stop has moved and before the
answer leaves: the process never sees the broker's answer."""

from __future__ import annotations

import signal
import subprocess
from contextlib import AbstractContextManager as ContextManager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine.test_fast_path import NAME, modified_notices, stop_leg
from tests.integration.engine.test_restart import TAGS, start_engine, stop, wait_for
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, sim_day
from tests.support.exchange_taps import tapped
from trading import native
from trading.sim.exchange import Exchange
from trading.store import Store

pytestmark = pytest.mark.skipif(not native.loaded(), reason="the Rust extension is not built")

CONFIG = f'[strategies.{NAME}]\nimpl = "rust"\nfast_path = true\n'


def stop_moves(exchange: Exchange, kill: subprocess.Popen[bytes] | None = None) -> ContextManager[list[Decimal | None]]:
    """Every modify the exchange takes, by the stop price it leaves; the first one kills `kill` (SIGKILL)
    once it is applied, before its answer is sent."""
    return tapped(exchange, "modify", lambda req: exchange.orders[req.orderId].stop_price, kill)


async def side(store: Store, key: str) -> Any:
    state = await store.strategy_state.for_day(NAME, DAY.date)
    return state.get("*", {}).get("symbols", {}).get("MNQ", {}).get("sides", {}).get("buy", {}).get(key)


async def test_kill_9_after_the_fast_path_moved_the_stop_then_a_restart(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """Killed as soon as the broker applied the move, before its answer: whatever the Python handler of the
    same quote did meanwhile, the state was not saved with the breakeven done (the move is unrecorded:
    `FastPath.holds`), so the restarted engine moves the stop again, to the same price, and stores the
    notice. Before that rule, about 1 run in 3 the handler saved "done" first and the notice was lost."""
    log = tmp_path / "engine.log"
    config = tmp_path / "rust.toml"
    config.write_text(CONFIG)
    async with sim_day(DAY.rth_open) as day:
        await day.preload(store)

        async def entries_placed() -> bool:
            n = await store.db.fetchval(
                "SELECT count(*) FROM orders WHERE custom_tag = ANY($1::text[]) AND broker_order_id IS NOT NULL", TAGS
            )
            return int(n) == 4 and await side(store, "status") == "working"

        first = start_engine(day, database_url, DAY.rth_open, 1.0, log, config)
        try:
            await wait_for("the four entries", entries_placed, first, log)
            long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
            level = day.sim.exchange.orders[long_id].stop_price
            assert level is not None
            await day.trade("MNQ", level + 2, DAY.rth_open + timedelta(minutes=2))

            async def filled() -> bool:
                return bool(await side(store, "status") == "filled")

            await wait_for("the long's fill handled (and the breakeven armed)", filled, first, log)
            entry = next(f.price for f in day.sim.exchange.fills if f.order_id == long_id)
            stop_order = stop_leg(day, long_id)
            with stop_moves(day.sim.exchange, kill=first) as moves:
                await day.trade("MNQ", entry + 16, DAY.rth_open + timedelta(minutes=3))
                await eventually(lambda: first.poll() is not None, "the engine killed inside its stop move")
            assert first.returncode == -signal.SIGKILL
            assert moves == [entry] and stop_order.stop_price == entry
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        before_restart = (len(await modified_notices(store)), await side(store, "breakeven_done"))
        assert before_restart == (0, False)

        second = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=4), 1.0, log, config)
        try:
            with stop_moves(day.sim.exchange) as after:
                prints = iter(range(1, 10_000))

                async def notified() -> bool:
                    # crossing prints until the restarted engine has one (however long its start-up)
                    n = next(prints)
                    await day.trade("MNQ", entry + 16, DAY.rth_open + timedelta(minutes=4, milliseconds=n))
                    return len(await modified_notices(store)) >= 1 and bool(await side(store, "breakeven_done"))

                await wait_for("the notice stored and the breakeven saved", notified, second, log)
        finally:
            await stop(second)
        notices = await modified_notices(store)
        keys = [(n.dedupe_key or "").rsplit("-", 1) for n in notices]
        assert [(k, Decimal(p)) for k, p in keys] == [(f"order-modified-{stop_order.id}", entry)], before_restart
        assert stop_order.stop_price == entry and stop_order.status.name == "OPEN"
        assert after == [entry]  # the restarted engine sent the same move again, once
