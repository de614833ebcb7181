"""Market hub decode: a recorded burst of GatewayQuote frames (recorded from the simulator, replayed
by `bench.burst_server` in its own process) through the Rust stream and the signalrcore path, each
into the same batch handler. Reports quotes per second (first to last delivery) and the delivery
lag per quote (handler time minus the server's send stamp): p50/p95/p99."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench.stats import Summary, fmt, summarize
from trading import native
from trading.projectx.realtime import MarketHub
from trading.projectx.stream_rust import RustMarketStream
from trading.streaming import QuoteEvent, StreamEvent


class Counter:
    def __init__(self, n: int) -> None:
        self.n, self.count = n, 0
        self.lags: list[float] = []
        self.first = self.last = 0.0
        self.done = asyncio.Event()

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        now = datetime.now(UTC)
        t = time.perf_counter()
        for e in batch:
            if isinstance(e, QuoteEvent):
                if self.count == 0:
                    self.first = t
                self.count += 1
                if self.count % 10 == 0:
                    self.lags.append((now - e.quote.ts_event).total_seconds() * 1e9)
        self.last = t
        if self.count >= self.n:
            self.done.set()


async def _one(kind: str, url: str, n: int) -> tuple[Summary, float]:
    counter = Counter(n)
    cls = RustMarketStream if kind == "rust" else MarketHub
    hub = cls(url, counter, lambda: "bench", stale_after_s=None)
    await hub.start()
    try:
        await hub.subscribe_quotes("CON.F.US.MNQ.Z26")
        await asyncio.wait_for(counter.done.wait(), 600)
    finally:
        await hub.stop()
    rate = counter.count / max(counter.last - counter.first, 1e-9)
    return summarize(f"{kind} stream", counter.lags), rate


def decode_only(quick: bool) -> str:
    """Framing + JSON decode + quote merge of the same recorded burst, in process, no sockets:
    Rust `decode_burst` vs signalrcore's JSON protocol + the Python hub's decode."""
    from bench.burst_server import STAMP, record
    from trading.projectx.hub import TolerantJsonProtocol

    frames = asyncio.run(record())
    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    text = "".join(frames).replace(STAMP, stamp) * (20 if quick else 100)
    n = text.count('"GatewayQuote"')
    rows: list[tuple[str, float]] = []
    if native.enabled():
        from trading import _native

        data = text.encode()
        best = min(_timed(lambda: _native.decode_burst(data)) for _ in range(5))
        rows.append(("rust decode_burst", n / best))
    hub = MarketHub("http://unused", Counter(0), lambda: "x")
    proto = TolerantJsonProtocol()

    def python_decode() -> None:
        for m in proto.parse_messages(text):
            target = getattr(m, "target", None)
            if target:
                hub._decode(target, m.arguments)

    best = min(_timed(python_decode) for _ in range(2))
    rows.append(("signalrcore + hub decode", n / best))
    base = rows[0][1]
    lines = [f"\n## decode only: {n:,} recorded GatewayQuote frames (framing, JSON, merge), best of runs"]
    lines += [f"{name:<28} {rate:>14,.0f} quotes/s {base / rate:>8.2f} × slower than first" for name, rate in rows]
    return "\n".join(lines)


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(quick: bool = False) -> str:
    return decode_only(quick) + "\n" + stream(quick)


def stream(quick: bool = False) -> str:
    repeat = 20 if quick else 100
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.burst_server", str(repeat), "100"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        url, n = ready[1], int(ready[2])
        rows: list[tuple[Summary, float]] = []
        kinds = (["rust"] if native.enabled() else []) + ["signalrcore"]
        for kind in kinds:
            rows.append(asyncio.run(_one(kind, url, n)))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    base = rows[0][1]
    lines = [
        f"\n## market hub decode: {n:,} recorded GatewayQuote frames, 100 per websocket message",
        f"{'path':<20} {'quotes/s':>12} {'× rust':>8} {'lag p50':>10} {'lag p95':>10} {'lag p99':>10} {'max':>10}",
    ]
    for s_, rate in rows:
        lines.append(
            f"{s_.name:<20} {rate:>12,.0f} {base / rate:>8.2f} {fmt(s_.p50):>10} {fmt(s_.p95):>10} "
            f"{fmt(s_.p99):>10} {fmt(s_.hi):>10}"
        )
    lines.append(
        "(lag: server send stamp to the batch handler, sampled every 10th quote; × rust: how many times slower)"
    )
    return "\n".join(lines)
