"""Stage timing over the wire: after a strategy's order is placed and filled on the simulator, every
stage (hub frame decoded, handler, strategy, risk, order sent, acknowledged, fill, stored, posted) has
samples, on the path of the component that did it, in memory and in Postgres after a flush."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.notifier import ConsoleSink, Notifier
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, open_and_fill, rust_active, sim_day
from tests.support.notifier import drain
from trading import native
from trading.config import NotificationSettings, RiskSettings, Settings
from trading.metrics import COPY_STAGES, QUOTE_STAGES, STAGE_NAMES, STAGE_PREFIX
from trading.store import Store

FAST = NotificationSettings(retry_base_s=0.01, retry_max_s=1.0, poll_interval_s=0.01, coalesce_window_s=0)
PYTHON_ONLY = {"strategy", "risk", "posted"}  # Python here: the strategy, the default risk check, the notifier


@pytest.mark.parametrize("path", ["rust", "python"])
async def test_every_stage_has_samples_after_an_order_and_its_fill(store: Store, path: str) -> None:
    if path == "rust" and not native.loaded():
        pytest.skip("the Rust extension is not built")
    with rust_active(path == "rust"):
        async with (
            sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
            engine_on(day, store, prefer_rust=path == "rust") as (engine, counter),
        ):
            assert engine.path.path == path
            long_id = await open_and_fill(day, engine, counter)
            assert await store.fills.for_order(long_id)
            quiet = ConsoleSink(lambda _line: None)
            await drain(Notifier(store.outbox, quiet, FAST, day.clock, metrics=engine.metrics))

            seen = {(s.operation.removeprefix(STAGE_PREFIX), s.path): s for s in engine.metrics.summary()}
            # the mirror stage needs copy mode (tests/integration/engine/test_copy.py); tick_to_order an order
            # a quote triggers (bench/tick_order.py; the day's entries come from the open job)
            one_account = [n for n in STAGE_NAMES if n not in COPY_STAGES + QUOTE_STAGES]
            for name in one_account:
                want = "python" if name in PYTHON_ONLY else path
                row = seen.get((name, want))
                assert row is not None and row.count > 0 and row.p50 >= 0, (name, want, sorted(seen))
            assert engine.metrics.counters[("orders", path, "placed")] == 4
            assert engine.metrics.counters[("fills", path, "")] >= 1

            await engine.metrics.flush()
            stored = {(r.operation, r.path) for r in await store.latency.stats()}
            assert {(STAGE_PREFIX + n, "python" if n in PYTHON_ONLY else path) for n in one_account} <= stored


@pytest.mark.parametrize("path", ["rust", "python"])
async def test_a_quote_that_moves_the_stop_times_tick_to_order(store: Store, path: str) -> None:
    """The overnight range's one quote-driven order: its filled long's stop moved to breakeven by a print
    past it. The tick_to_order stage times that request, from its quote's hub frame to the request
    handed to the connection, on the executor's path (the stream's stamp and the executor's, one clock)."""
    if path == "rust" and not native.loaded():
        pytest.skip("the Rust extension is not built")
    with rust_active(path == "rust"):
        async with (
            sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
            engine_on(day, store, prefer_rust=path == "rust") as (engine, counter),
        ):
            long_id = await open_and_fill(day, engine, counter)
            entry = day.sim.exchange.orders[long_id].stop_price
            assert entry is not None
            await day.trade("MNQ", entry + 20, DAY.rth_open + timedelta(minutes=3))
            await eventually(
                lambda: any(s.operation == "modify" and s.path == path for s in engine.metrics.summary()),
                "the breakeven stop move sent",
            )
            rows = {(s.operation.removeprefix(STAGE_PREFIX), s.path): s for s in engine.metrics.summary()}
            tick = rows.get(("tick_to_order", path))
            assert tick is not None and tick.count == 1 and tick.p50 > 0, sorted(rows)


async def test_the_risk_stage_is_filed_under_the_check_that_answered(store: Store) -> None:
    """`[risk] impl = "rust"`: the open job's four entries are screened by the Rust check, and their risk
    stage samples are filed under rust (Python's row stays empty): the latency table compares like with like."""
    if not native.loaded():
        pytest.skip("the Rust extension is not built")
    settings = Settings(risk=RiskSettings(impl="rust"))
    with rust_active(True):
        async with (
            sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
            engine_on(day, store, settings) as (engine, counter),
        ):
            await open_and_fill(day, engine, counter)
            rows = {(s.operation.removeprefix(STAGE_PREFIX), s.path): s.count for s in engine.metrics.summary()}
            assert rows.get(("risk", "rust"), 0) >= 4 and ("risk", "python") not in rows, sorted(rows)
