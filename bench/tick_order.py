"""Tick → order, the whole bot-internal span: a real engine (`build_engine`, the lease, the store on a
scratch database, the risk screen, `record_intent` beside the send) trading the simulator in its own
process, with a trigger strategy: every quote the bench posts to the simulator's market makes the
strategy propose a resting limit order (and cancel the previous one, after it).

The span is the engine's own `tick_to_order` stage (trading/metrics.py), the same points on both paths,
both on the wall clock (the simulator's time is outside it: it ends where the request leaves us):
- start: the quote's hub frame taken off the socket — the Rust stream stamps it before any framing or
  decoding (`HubClient.batch_seen_ns`, the batch's oldest frame); the Python path (signalrcore) at its
  callback, after signalrcore's own read and JSON decode (that part is not counted on Python's side);
- end: the order request built, its body encoded, handed to the HTTP connection — the Rust executor's
  `CallResult.sent_ns`, httpx's request hook on the Python path (the HTTP/1.1 encoding and the write
  follow on the same thread: hyper's, µs; httpcore+h11's, tens of µs, not counted either).
The Rust path is the Rust market stream, the Rust executor and the Rust risk check (`[risk] impl =
"rust"`); the Python path signalrcore, httpx and the Python risk check.
Both run the same Python engine, strategy and store write. A new order's intent is written beside its
send and committed before the placement ends (trading/engine/core.py `_place_new` says why that loses
nothing; the fault tests prove it): the `intent` stage (risk passed -> committed) is printed beside the
span. Each repetition builds and starts a fresh engine per path, alternating the order of the paths.

The overnight range (issue 15's "Live"): its entries are resting stop orders at the broker, so no
quote ever has to trigger an entry. Its one quote-driven order is the breakeven stop move (a modify
request), which with the Rust implementation goes quote -> strategy -> executor without Python
(trading/engine/fast_path.py): measured over the same span, with both implementations, in
bench/breakeven.py.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from time import time_ns
from typing import IO, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from bench.bars_pg import on_scratch_database, server_url
from bench.goals import Figure, Goal, Section, at_most
from bench.market_clock import MarketHoursClock
from bench.stats import fmt, pct
from trading import native
from trading.affinity import pin
from trading.clock import LiveClock
from trading.config import (
    EngineSettings,
    ProjectXSettings,
    RiskSettings,
    RoutingSettings,
    Settings,
    StrategiesSettings,
)
from trading.domain import OrderRequest, OrderType, Quote, Side
from trading.engine.bars import ns
from trading.engine.setup import build_engine, close_engine, sim_url_gateway
from trading.metrics import STAGE_PREFIX, LatencyMetrics, stage
from trading.projectx.stream_rust import RustMarketStream, RustUserStream
from trading.store import Store, close_pool, create_pool
from trading.strategies import STRATEGIES
from trading.strategies.base import Strategy

NAME = "bench_trigger"
TICK = stage("tick_to_order")
BREAKDOWN = ("decoded", "handler", "strategy", "risk", "order_sent", "intent")
REACHED = "frame -> strategy callback"
ONE_CPU = "rust, one CPU"
FIRST = "rust, intent first"  # `[engine] intent = "first"`: the intent committed before the send, as before
# The hubs read by a tokio reader that hands each batch to the loop's thread (`read_on_loop = False`): the way of
# https hubs, and of every hub before plain ws:// hubs were read on the loop's own thread.
TOKIO = "rust, tokio reader"
HUBS: tuple[type[RustMarketStream] | type[RustUserStream], ...] = (RustMarketStream, RustUserStream)
GOAL_NS = 1_000_000
SETTLE_S = 0.02


class TriggerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    symbols: tuple[str, ...] = ("MNQ",)


class Trigger(Strategy[TriggerSettings]):
    """Every quote with a bid: a buy limit 400 points under it (it rests), then the previous one cancelled
    (once: the engine may still show it working until the broker reports the cancel)."""

    name: ClassVar[str] = NAME

    def __init__(self, config: TriggerSettings, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.n = 0
        self.run = uuid.uuid4().hex[:8]  # tags unique across the engines of a run (one database)
        self.reached: list[int] = []
        self.cancelled: set[int] = set()  # asked once: the engine's view may still say working meanwhile

    @classmethod
    def config_type(cls) -> type[TriggerSettings]:
        return TriggerSettings

    def on_quote(self, symbol: str, quote: Quote) -> None:
        if quote.bid is None:
            return
        if quote.ts_init is not None:  # the quote's frame off the socket -> this callback (same wall clock)
            self.reached.append(time_ns() - ns(quote.ts_init))
        self.n += 1
        contract = self.ctx.contract(symbol)
        # its working orders as the engine sees them (the engine's working-order index: not a scan of the
        # thousands of orders the bench makes in a day, where a real strategy has a handful)
        working = [o for o in self.ctx.working_orders() if o.id not in self.cancelled]
        tag = f"{NAME}:{self.run}:{self.n}"
        price = quote.bid - 400
        account = self.ctx.account().account_id
        self.ctx.propose(OrderRequest(account, contract.id, Side.BUY, OrderType.LIMIT, 1, tag, limit_price=price))
        for o in working:
            self.ctx.cancel(o)
            self.cancelled.add(o.id or 0)


STRATEGIES.setdefault(NAME, Trigger)


class BenchStrategies(StrategiesSettings):
    bench_trigger: TriggerSettings = TriggerSettings()


class Stages(LatencyMetrics):
    """The engine's metrics, with an event when a tick -> order sample lands (the bench's cue for the next quote)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ticked = asyncio.Event()

    def record(
        self, operation: str, path: str, nanos: int, *, ok: bool = True, extra: dict[str, str] | None = None
    ) -> None:
        super().record(operation, path, nanos, ok=ok, extra=extra)
        if operation == TICK:
            self.ticked.set()

    def samples(self, operation: str, path: str) -> list[int]:
        for op, p, hist in self.histograms():
            if (op, p) == (operation, path):
                return sorted(hist._kept)
        return []


def _settings(path: str, intent: Literal["beside", "first"] = "beside") -> Settings:
    routes = RoutingSettings(executor="rust", market_stream="rust", user_stream="rust")
    if path == "python":
        routes = RoutingSettings(executor="python", market_stream="python", user_stream="python")
    # Any hour of the day (the default screen allows 09:30-15:55 New York; the engine's clock is moved into open
    # hours when the bench runs outside them: bench/market_clock.py).
    # The Rust path checks risk in Rust too (`[risk] impl`, the same answers): every piece it has in Rust.
    risk = RiskSettings(
        trading_start=time(0, 0), trading_end=time(23, 59, 59), impl="python" if path == "python" else "rust"
    )
    # The client's own rate limiter off (the simulator runs without limits): its waits are not the path's.
    px = ProjectXSettings(rate_limit_requests=10**9)
    engine = EngineSettings(intent=intent)
    return Settings(strategies=BenchStrategies(), routing=routes, risk=risk, projectx=px, engine=engine)


async def _one(
    path: str, url: str, sim: Sim, n: int, bid0: Decimal, intent: Literal["beside", "first"] = "beside"
) -> dict[str, list[int]]:
    """One engine on `path`, `n` quotes one after the other; the stage samples (ns) by stage name."""
    base, cid = sim.base_url, sim.contract_id
    settings = _settings(path, intent)
    pool = await create_pool(url, min_size=1, max_size=4)
    store = Store(pool)
    metrics = Stages(LiveClock())
    engine = await build_engine(
        settings,
        store,
        MarketHoursClock(),  # the risk screen's hours, whenever the bench runs
        sim_url_gateway(settings, base),
        strategies=[NAME],
        prefer_rust=path == "rust",
        metrics=metrics,
    )
    try:
        await engine.start()
        assert engine.path.path == path, (engine.path.path, path)
        assert await engine.until_ready(30), "the engine did not reconcile with the simulator"
        for i in range(n + 20):  # 20 warm-up quotes (connections, caches), not counted
            if i == 20:
                metrics.reset()
            metrics.ticked.clear()
            bid = bid0 + Decimal("0.25") * (i % 8)
            sim.market.write(f"quote {cid} {bid} {bid + 1}\n")  # to the simulator's process (bench/simserver.py)
            sim.market.flush()
            try:
                await asyncio.wait_for(metrics.ticked.wait(), 30)
            except TimeoutError:
                trigger = engine.strategies[NAME]
                raise RuntimeError(
                    f"no tick -> order sample on {path} after quote {i}: strategy saw "
                    f"{getattr(trigger, 'n', '?')} quotes; orders {dict(metrics.counters)}; "
                    f"{[(await store.outbox.get(k)) for k in range(1, 4)]}"
                ) from None
            # The next quote meets an idle engine: this quote's actions done (the previous order's cancel
            # too), then a pause for the user hub's reports of both (order stored, cancel applied).
            async with engine._lock:
                pass
            await asyncio.sleep(SETTLE_S)
            async with engine._lock:
                pass
        # a stage's samples on this path, else on Python's (the strategy here is Python: its stage is filed under
        # 'python' on either path; the risk screen under the implementation whose check answered)
        out = {
            name: metrics.samples(STAGE_PREFIX + name, path) or metrics.samples(STAGE_PREFIX + name, "python")
            for name in BREAKDOWN
        }
        out["python" if path == "python" else "rust"] = metrics.samples(TICK, path)
        trigger = engine.strategies[NAME]
        out[REACHED] = sorted(getattr(trigger, "reached", [])[-n:])
        return out
    finally:
        await close_engine(engine)
        await close_pool(pool)


def _intent_p99(reps: list[dict[str, list[int]]]) -> str:
    """The intent stage's p99 (median over the repetitions): when the placement's intent was durable."""
    p99 = [pct(r["intent"], 0.99) for r in reps if r.get("intent")]
    return fmt(statistics.median(p99)) if p99 else "n/a"


async def _run(url: str, sim: Sim, n: int, reps: int) -> Section:
    got: dict[str, list[dict[str, list[int]]]] = {"rust": [], "python": [], ONE_CPU: [], FIRST: [], TOKIO: []}
    paths = ["rust", "python"] if native.enabled() else ["python"]
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    ways = (
        paths
        + ([ONE_CPU] if "rust" in paths and len(allowed) > 1 else [])
        + ([FIRST, TOKIO] if "rust" in paths else [])
    )
    bid0 = Decimal(21000)
    for rep in range(reps):
        for way in ways if rep % 2 == 0 else ways[::-1]:
            if way == ONE_CPU:  # the engine's process on one CPU, as `[app] cpu = "auto"` puts `tradebot run`
                pin({max(allowed)})
                try:
                    got[way].append(await _one("rust", url, sim, n, bid0))
                finally:
                    pin(allowed)
            elif way == FIRST:
                got[way].append(await _one("rust", url, sim, n, bid0, "first"))
            elif way == TOKIO:
                for hub in HUBS:  # every Rust hub the engine builds, this run only
                    hub.read_on_loop = False
                try:
                    got[way].append(await _one("rust", url, sim, n, bid0))
                finally:
                    for hub in HUBS:
                        hub.read_on_loop = True
            else:
                got[way].append(await _one(way, url, sim, n, bid0))
    head = f"{'span':<34} {'p50':>10} {'p99':>10} {'p50 range':>22} {'p99 range':>22}"
    lines = [
        f"\n## tick -> order, whole bot-internal span: {n} quotes × {reps} repetitions per path "
        "(real engine, trigger strategy, sim in its own process)",
        head,
        "-" * len(head),
    ]

    def row(label: str, reps_: list[list[int]]) -> None:
        reps_ = [r for r in reps_ if r]
        if not reps_:
            lines.append(f"{label:<34} {'n/a':>10}")
            return
        p50s, p99s = [pct(r, 0.5) for r in reps_], [pct(r, 0.99) for r in reps_]
        lines.append(
            f"{label:<34} {fmt(statistics.median(p50s)):>10} {fmt(statistics.median(p99s)):>10}"
            f" {fmt(min(p50s)) + '..' + fmt(max(p50s)):>22} {fmt(min(p99s)) + '..' + fmt(max(p99s)):>22}"
        )

    for way in ways:
        key = "python" if way == "python" else "rust"
        row(f"{way}: tick -> order", [r[key] for r in got[way]])
        row(f"  {way}: {REACHED}", [r[REACHED] for r in got[way]])
        for name in BREAKDOWN:
            row(f"  {way}: stage {name}", [r[name] for r in got[way]])
    lines.append(
        f"('{REACHED}': the quote's frame off the socket (its ts_init) -> the strategy's on_quote; "
        "stages: 'decoded' frame in Python's hands -> events, 'handler' -> the engine's handler, 'strategy' the "
        "callback, 'risk' the screen, 'order_sent' risk passed -> handed to the executor, 'intent' risk passed -> "
        "the intent committed (written beside the send, outside the span); "
        "the tick -> order span holds them all plus the hops between; "
        f"'{ONE_CPU}': the rust path with this process on one CPU, the simulator and Postgres free to run anywhere; "
        f"'{FIRST}': the rust path with each intent committed before its send, as before; "
        f"'{TOKIO}': the rust path with the hubs read by a tokio reader that hands each batch to the loop's thread, "
        "as https hubs are and every hub was before)"
    )
    goals: list[Goal] = []
    for path in paths:
        p99 = [pct(r[path], 0.99) / 1e3 for r in got[path] if r[path]]
        p50 = [pct(r[path], 0.5) / 1e3 for r in got[path] if r[path]]
        if not p99:
            continue
        goals.append(
            Goal(
                f"tick -> order ({path} path), hub frame -> order bytes, intent committed beside the send, p99",
                "≤ 1 ms" if path == "rust" else "-",
                Figure(tuple(p99), "µs"),
                at_most(p99, GOAL_NS / 1e3) if path == "rust" else None,
                baseline=f"p50 {statistics.median(p50):.0f} µs; intent committed p99 {_intent_p99(got[path])}",
            )
        )
    if len(paths) == 2 and got["rust"][0]["rust"] and got["python"][0]["python"]:
        ratio = [
            pct(py["python"], 0.99) / max(pct(rs["rust"], 0.99), 1.0)
            for rs, py in zip(got["rust"], got["python"], strict=True)
        ]
        goals[0] = Goal(
            goals[0].name,
            goals[0].goal,
            goals[0].figure,
            goals[0].met,
            baseline=f"{goals[0].baseline}; python path p99 {statistics.median(ratio):.2f}× it (paired per repetition)",
        )
    one = [pct(r["rust"], 0.99) / 1e3 for r in got[ONE_CPU] if r["rust"]]
    if one:
        floating = [pct(r["rust"], 0.99) / 1e3 for r in got["rust"] if r["rust"]]
        one_p50 = statistics.median(pct(r["rust"], 0.5) / 1e3 for r in got[ONE_CPU] if r["rust"])
        goals.append(
            Goal(
                f"tick -> order ({ONE_CPU}), hub frame -> order bytes, intent committed beside the send, p99",
                "≤ 1 ms",
                Figure(tuple(one), "µs"),
                at_most(one, GOAL_NS / 1e3),
                baseline=f"p50 {one_p50:.0f} µs; the rust path as scheduled p99 {statistics.median(floating):.0f} µs",
            )
        )
    for way, what, against in (
        (FIRST, "committed before the send, as before", "the beside way"),
        (TOKIO, "the batch handed between threads, as before", "the loop-thread read"),
    ):
        info = _vs_rust(got[way], got["rust"], f"tick -> order ({way}: {what}), p99 (info)", against)
        if info is not None:
            goals.append(info)
    return Section("tick -> order (whole span)", ["\n".join(lines)], goals)


def _vs_rust(
    other: list[dict[str, list[int]]], rust: list[dict[str, list[int]]], name: str, against: str
) -> Goal | None:
    """An information row: another way of the rust path, its p99 and how many times the rust path's own it is
    (p50 and p99, paired per repetition); None unless every repetition of both has samples."""
    runs = [r for r in other if r["rust"]]
    if not runs or len(runs) != len(rust):
        return None
    slower = [
        (pct(o["rust"], q) / max(pct(b["rust"], q), 1.0) for q in (0.5, 0.99)) for o, b in zip(runs, rust, strict=True)
    ]
    p50x, p99x = (statistics.median(x) for x in zip(*slower, strict=True))
    return Goal(
        name,
        "-",
        Figure(tuple(pct(r["rust"], 0.99) / 1e3 for r in runs), "µs"),
        None,
        baseline=f"p50 {statistics.median(pct(r['rust'], 0.5) / 1e3 for r in runs):.0f} µs; "
        f"{p50x:.2f}× {against}'s p50, {p99x:.2f}× its p99 (paired per repetition)",
    )


@dataclass(frozen=True)
class Sim:
    """The simulator's process (bench/simserver.py): its address, the contract, and its stdin, where a line
    drives its market (the engine's process makes no HTTP call of its own to drive it)."""

    base_url: str
    contract_id: str
    market: IO[str]


def run(quick: bool = False) -> Section:
    server = server_url()
    if server is None:
        return Section("tick -> order", ["\n## tick -> order: skipped (set TRADEBOT_BENCH_DATABASE_URL)"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.simserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = proc.stdout.readline().split()
        sim = Sim(ready[1], ready[3], proc.stdin)
        n, reps = (100, 2) if quick else (500, 3)
        return asyncio.run(on_scratch_database(server, lambda url: _run(url, sim, n, reps)))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)


if __name__ == "__main__":  # python -m bench.tick_order [--quick]
    os.environ.setdefault("TRADEBOT_APP__LOG_LEVEL", "WARNING")
    for t in run("--quick" in sys.argv).tables:
        print(t)
