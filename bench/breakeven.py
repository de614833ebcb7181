"""Tick -> order for the overnight range's breakeven (issue 15, "Live"): a real engine (`build_engine`, the
lease, the store on a scratch database) running the overnight range on the Rust market stream and the Rust
executor against the simulator in its own process, in three ways: the Python implementation, the Rust
implementation on the Python path (`fast_path = false`: stream -> Python engine -> core -> action queue ->
executor) and the Rust implementation with the fast path (stream task -> core -> executor, no Python in
between: trading/engine/fast_path.py).

Why this action: the overnight range's entries rest at the broker as stop orders, so no quote ever places
one; its one quote-driven order is the breakeven, the bracket's stop leg moved to the entry price once a
print reaches entry + breakeven_points. The span is the engine's `tick_to_order` stage, the same points
on every way: the quote's hub frame off the socket (the Rust stream's stamp) -> the modify request handed
to the HTTP connection (the Rust executor's `sent_ns`).

Each sample: the strategy's state loaded with a filled long at 21000 whose breakeven is not done (its stop
leg a real bracket child at the simulator), then a print at 21016 (past 21015): the stop moves to 21000.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
from datetime import time
from decimal import Decimal
from typing import Any

import httpx

from bench.bars_pg import on_scratch_database, server_url
from bench.goals import Figure, Goal, Section
from bench.market_clock import MarketHoursClock
from bench.simserver import running
from bench.stats import fmt, pct
from bench.tick_order import TICK, Stages
from trading import native
from trading.clock import LiveClock
from trading.config import ProjectXSettings, RiskSettings, RoutingSettings, Settings
from trading.domain import Bracket, OrderRequest, OrderStatus, OrderType, Side
from trading.engine import Engine
from trading.engine.setup import build_engine, close_engine, sim_url_gateway
from trading.metrics import STAGE_PREFIX
from trading.store import Store, close_pool, create_pool

NAME = "overnight_range"
ENTRY = Decimal(21000)
WAYS = ("python", "rust", "rust fast path")  # the strategy's implementation and the way its quote goes
WARM_UP = 10


def _settings(way: str) -> Settings:
    routes = RoutingSettings(executor="rust", market_stream="rust", user_stream="rust")
    risk = RiskSettings(trading_start=time(0, 0), trading_end=time(23, 59, 59))
    px = ProjectXSettings(rate_limit_requests=10**9)
    strategy = {"impl": "python" if way == "python" else "rust", "fast_path": way == "rust fast path",
                "symbols": ["MNQ"]}  # fmt: skip
    return Settings(strategies={NAME: strategy}, routing=routes, risk=risk, projectx=px)


def _state(day: str, entry_id: int) -> dict[str, Any]:
    """A filled long at ENTRY, its breakeven not done yet (the rest as the open leaves it)."""
    side = {"side": "buy", "tag": f"{NAME}:MNQ:long:{day}", "level": str(ENTRY), "stop_ticks": -4000,
            "target_ticks": 4000, "status": "filled", "note": "", "order_id": entry_id,
            "fill_price": str(ENTRY), "breakeven_done": False, "exit_price": None}  # fmt: skip
    mnq = {"levels": {}, "filters": {}, "blocked": None, "sides": {"buy": side}, "flattened": False}
    return {"date": day, "opened": True, "symbols": {"MNQ": mnq}}


async def _entry(engine: Engine, cid: str, day: str) -> int:
    """The long entry, placed through the engine as the strategy's (a market buy with a wide bracket:
    it fills at once and its stop and target legs rest far away); its id once its stop leg is known."""
    request = OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, 1, f"{NAME}:MNQ:long:{day}",
                           bracket=Bracket(stop_loss_ticks=-4000, take_profit_ticks=4000))  # fmt: skip
    entry_id = await engine.place(request, NAME)
    assert entry_id is not None
    for _ in range(3000):
        legs = [o for o in engine.orders.values() if o.parent_id == entry_id and o.status is OrderStatus.OPEN]
        if len(legs) == 2 and all(engine.owner.get(o.id or 0) == NAME for o in legs):
            return entry_id
        await asyncio.sleep(0.01)
    raise RuntimeError("the entry's bracket legs never reached the engine")


async def _one(way: str, url: str, base: str, cid: str, n: int) -> tuple[list[int], int]:
    """One engine, `n` breakevens one after the other; the tick -> order samples (ns), and how many of
    the moves a bar's close made first (no sample)."""
    settings = _settings(way)
    pool = await create_pool(url, min_size=1, max_size=4)
    store = Store(pool)
    metrics = Stages(LiveClock())
    engine = await build_engine(settings, store, MarketHoursClock(), sim_url_gateway(settings, base), strategies=[NAME],
                                prefer_rust=True, metrics=metrics)  # fmt: skip
    try:
        await engine.start()
        assert engine.path.path == "rust" and await engine.until_ready(30)
        assert (engine.fast_path is not None) is (way == "rust fast path"), way
        day = (engine.day.date if engine.day is not None else engine.clock.now().date()).isoformat()
        entry_id = await _entry(engine, cid, day)
        by_bar = 0
        async with httpx.AsyncClient(base_url=base) as sim:
            for i in range(n + WARM_UP):  # warm-up breakevens, not counted
                if i == WARM_UP:
                    metrics.reset()
                async with engine._lock:
                    engine.strategies[NAME].on_load(_state(day, entry_id))
                    if engine.fast_path is not None:
                        engine.fast_path.refresh()
                metrics.ticked.clear()
                price = ENTRY + 16 + Decimal("0.25") * (i % 2)
                r = await sim.post("/sim/market/trade", json={"contractId": cid, "price": str(price), "size": 1})
                r.raise_for_status()
                try:
                    async with asyncio.timeout(30):  # the engine's own handler of this quote (prices alternate)
                        while (q := engine.quotes.get(cid)) is None or q.last != price:  # noqa: ASYNC110
                            await asyncio.sleep(0.0005)
                except TimeoutError:
                    raise RuntimeError(f"{way}: print {i} at {price} never reached the engine") from None
                async with engine._lock:
                    pass
                # A print on a new minute closes the last bar first: the bar's handler may move the stop
                # (not a tick -> order: no sample): counted as such, not waited for.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1):
                        await metrics.ticked.wait()
                if not metrics.ticked.is_set():
                    state = engine.strategies[NAME].on_save()
                    if not state["symbols"]["MNQ"]["sides"]["buy"]["breakeven_done"]:
                        raise RuntimeError(f"{way}: print {i} at {price} moved nothing: {state}")
                    by_bar += i >= WARM_UP
                async with engine._lock:  # the handler (and the move's result) done before the next state
                    pass
                await asyncio.sleep(0.02)  # the order event of the move back from the user hub
                async with engine._lock:
                    pass
        return metrics.samples(TICK, "rust"), by_bar
    finally:
        await close_engine(engine)
        await close_pool(pool)


async def _run(url: str, base: str, cid: str, n: int, reps: int) -> Section:
    got: dict[str, list[list[int]]] = {w: [] for w in WAYS}
    by_bar: dict[str, int] = dict.fromkeys(WAYS, 0)
    for rep in range(reps):
        for way in WAYS if rep % 2 == 0 else WAYS[::-1]:
            samples, bars = await _one(way, url, base, cid, n)
            got[way].append(samples)
            by_bar[way] += bars
    head = f"{'way':<44} {'p50':>10} {'p99':>10} {'p50 range':>22} {'p99 range':>22}"
    lines = [
        f"\n## tick -> order, overnight-range breakeven: {n} stop moves × {reps} repetitions per way "
        "(real engine, Rust stream and executor, sim in its own process)",
        head,
        "-" * len(head),
    ]
    for way in WAYS:
        reps_ = [r for r in got[way] if r]
        p50s, p99s = [pct(r, 0.5) for r in reps_], [pct(r, 0.99) for r in reps_]
        label = {"python": "python implementation", "rust": "rust implementation, Python path",
                 "rust fast path": "rust implementation, fast path (no Python)"}[way]  # fmt: skip
        lines.append(
            f"{label:<44} {fmt(statistics.median(p50s)):>10} {fmt(statistics.median(p99s)):>10}"
            f" {fmt(min(p50s)) + '..' + fmt(max(p50s)):>22} {fmt(min(p99s)) + '..' + fmt(max(p99s)):>22}"
        )
    ratios = {
        q: [pct(py, q) / max(pct(fast, q), 1.0) for py, fast in zip(got["python"], got["rust fast path"], strict=True)]
        for q in (0.5, 0.99)
    }
    lines.append(
        f"python implementation / fast path (paired per repetition): p50 {statistics.median(ratios[0.5]):.1f}×, "
        f"p99 {statistics.median(ratios[0.99]):.1f}×"
    )
    lines.append(
        "(span: the print's quote frame off the socket -> the modify request handed to the connection; "
        f"the stage {STAGE_PREFIX}tick_to_order, the same points on every way; moves a bar's close made first, "
        f"no sample: {', '.join(f'{w} {k}' for w, k in by_bar.items())})"
    )
    p99 = tuple(pct(r, 0.99) / 1e3 for r in got["rust fast path"] if r)
    p50 = [pct(r, 0.5) / 1e3 for r in got["rust fast path"] if r]
    goal = Goal(
        "tick -> order, overnight-range breakeven (rust implementation, fast path), p99",
        "info (issue 14's tick -> order: ≤ 1 ms p99, for a placement)",
        Figure(p99, "µs"),
        None,
        baseline=f"p50 {statistics.median(p50):.0f} µs; python implementation p99 "
        f"{statistics.median(ratios[0.99]):.1f}× it (paired per repetition)",
    )
    return Section("tick -> order, overnight-range breakeven", ["\n".join(lines)], [goal])


def run(quick: bool = False) -> Section:
    server = server_url()
    if server is None or not native.enabled():
        return Section("tick -> order, overnight-range breakeven",
                       ["\n## tick -> order, overnight-range breakeven: skipped (set TRADEBOT_BENCH_DATABASE_URL "
                        "and build the extension)"])  # fmt: skip
    with running() as sim:
        n, reps = (100, 2) if quick else (300, 3)
        return asyncio.run(on_scratch_database(server, lambda url: _run(url, sim.base_url, sim.contract_id, n, reps)))


if __name__ == "__main__":  # python -m bench.breakeven [--quick]
    os.environ.setdefault("TRADEBOT_APP__LOG_LEVEL", "WARNING")
    for t in run("--quick" in sys.argv).tables:
        print(t)
