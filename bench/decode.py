"""Market hub decode: a recorded burst of GatewayQuote frames (recorded from the simulator, replayed
by `bench.burst_server` in its own process) through the Rust stream and the signalrcore path, each
into the same batch handler. Reports quotes per second (subscription to last delivery) and the delivery
lag per quote (handler time minus the server's send stamp): p50/p95/p99.

"rust, records (before)" is the Rust stream as it was before quotes crossed as lazy objects built in
Rust (kept here as the baseline): each quote crosses as a `QuoteRecord` and Python builds its
`domain.Quote` (its datetime included) and `QuoteEvent`."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import aiohttp

from bench import burst_server
from bench.goals import Figure, Goal, Section, at_least, at_most
from bench.stats import Summary, fmt, summarize
from trading import domain, native
from trading.affinity import pin
from trading.projectx import schema as s
from trading.projectx.realtime import MarketHub
from trading.projectx.stream_rust import Handler, RustMarketStream, _dec, _dt
from trading.streaming import QuoteEvent, StreamEvent

CID = "CON.F.US.MNQ.Z26"
FLOOR = "aiohttp+json floor"
COALESCED = "rust, coalesced"
RECORDS = "rust, records (before)"
# The Rust stream with a tokio reader handing each batch to the loop's thread (`read_on_loop = False`):
# the way of https hubs, and of every hub before plain ws:// hubs were read on the loop's own thread.
TOKIO = "rust, tokio reader (info)"


# The single-quote figures compare p99s, and a p99 of one 1,000-quote run is its 10th-largest lag: on this
# 2-CPU VM the pinned figure (a difference of two such p99s, one run each after the other) spread from -110
# to 103 µs over three repetitions (page of 2026-12-05 21:43 UTC), wider than the goal it is judged by. Each
# repetition is now SINGLE_ROUNDS runs per contender taking turns, the lags pooled per contender: a p99 of
# 3,000 lags, and a noisy stretch of the machine falls on every contender alike rather than on one.
SINGLE_ROUNDS = 3

# Why the single-quote figure may be below zero: both paths read on the loop's thread, and the Rust path
# frames and decodes faster than aiohttp + json.loads, so its p99 can sit under the floor's; the figure
# is the difference of two p99s measured in the same run, not a cost that nests inside the other.
SIGNED = "below zero: the Rust path's p99 under the floor's (a difference of two p99s, it can go either way)"


class RecordsStream(RustMarketStream):
    """The baseline: quotes cross as `QuoteRecord`s and Python builds each quote, as before."""

    def _prepare(self, client: Any) -> None:
        return None  # no `build_quotes`: records

    def _data_handlers(self, mod: ModuleType) -> dict[type, Handler]:
        return {**super()._data_handlers(mod), mod.QuoteRecord: self._on_record}

    def _on_record(self, rec: Any, now: datetime, events: list[StreamEvent]) -> None:
        prev = self._quotes.get(rec.contract_id)
        quote = domain.Quote(
            rec.contract_id, _dt(rec.ts_ns, prev.ts_event if prev else now), _dec(rec.last), _dec(rec.bid),
            _dec(rec.ask), rec.volume, now,
        )  # fmt: skip
        self._quotes[rec.contract_id] = quote
        events.append(QuoteEvent(quote))


class Counter:
    def __init__(self, n: int, every: int = 10) -> None:
        self.n, self.count, self.every = n, 0, every
        self.lags: list[float] = []
        self.first = self.last = 0.0
        self.done = asyncio.Event()
        self.skipped: Callable[[], int] = lambda: 0  # quotes the stream coalesced away (consumed, not delivered)
        # Rust streams: seconds since the Rust client handled its last frame; with it, each sampled lag
        # splits into arrival -> Rust handled and the hand-off Rust handled -> handler (`handoffs`).
        self.handled: Callable[[], float] | None = None
        self.handoffs: list[float] = []

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        handoff = self.handled() * 1e9 if self.handled is not None else None
        now = datetime.now(UTC)
        t = time.perf_counter()
        for e in batch:
            if isinstance(e, QuoteEvent):
                if self.first == 0.0:
                    self.first = t
                self.count += 1
                if self.count % self.every == 0:
                    self.lags.append((now - e.quote.ts_event).total_seconds() * 1e9)
                    if handoff is not None:
                        self.handoffs.append(handoff)
        self.last = t
        if self.count + self.skipped() >= self.n:
            self.done.set()


async def _one(kind: str, url: str, n: int, every: int = 10) -> tuple[Summary, float, Summary | None]:
    lags, rate, handoffs = await _lags(kind, url, n, every)
    handoff = summarize(f"{kind} hand-off", handoffs) if handoffs else None
    return summarize(f"{kind} stream", lags or [float("nan")]), rate, handoff


async def _lags(kind: str, url: str, n: int, every: int) -> tuple[list[float], float, list[float]]:
    """One run of `kind`: its sampled lags (ns), quotes/s, and (Rust streams) the hand-offs."""
    if kind == FLOOR:
        return (*await _floor(url, n, every), [])
    counter = Counter(n, 1 if kind == COALESCED else every)  # few quotes are delivered: sample each
    hub: MarketHub
    if kind == COALESCED:
        rust = RustMarketStream(url, counter, lambda: "bench", stale_after_s=None, coalesce_quotes=True)
        counter.skipped = lambda: rust.stats["coalesced"]
        hub = rust
    elif kind == "rust":
        hub = RustMarketStream(url, counter, lambda: "bench", stale_after_s=None)
    elif kind == TOKIO:
        hub = RustMarketStream(url, counter, lambda: "bench", stale_after_s=None)
        hub.read_on_loop = False
    elif kind == RECORDS:
        hub = RecordsStream(url, counter, lambda: "bench", stale_after_s=None)
    else:
        hub = MarketHub(url, counter, lambda: "bench", stale_after_s=None)
    if isinstance(hub, RustMarketStream):
        rust_hub = hub
        counter.handled = lambda: float(rust_hub._client.frame_silent_s)
    await hub.start()
    try:
        # The clock starts at the subscription (the server's burst answers it): a stream that delivers
        # few, coalesced, batches is timed over the whole burst, not between its first and last batch.
        counter.first = time.perf_counter()
        await hub.subscribe_quotes(CID)
        await asyncio.wait_for(counter.done.wait(), 600)
    finally:
        await hub.stop()
    rate = (counter.count + counter.skipped()) / max(counter.last - counter.first, 1e-9)
    return counter.lags, rate, counter.handoffs


def _single(kinds: list[str], url: str, m: int, reps: int) -> tuple[dict[str, list[Summary]], dict[str, list[Summary]]]:
    """The paced runs (one quote per message, every quote sampled): per repetition, SINGLE_ROUNDS runs of
    each kind taking turns (the order rotating), the lags pooled per kind. Per kind, one lag Summary and
    (Rust streams) one hand-off Summary per repetition."""
    lags: dict[str, list[Summary]] = {k: [] for k in kinds}
    handoffs: dict[str, list[Summary]] = {k: [] for k in kinds}
    for r in range(reps):
        pooled: dict[str, list[float]] = {k: [] for k in kinds}
        pooled_handoffs: dict[str, list[float]] = {k: [] for k in kinds}
        for round_ in range(SINGLE_ROUNDS):
            k = (r + round_) % len(kinds)
            for kind in kinds[k:] + kinds[:k]:
                got, _, handed = asyncio.run(_lags(kind, url, m, 1))
                pooled[kind] += got
                pooled_handoffs[kind] += handed
        for kind in kinds:
            lags[kind].append(summarize(f"{kind} stream", pooled[kind] or [float("nan")]))
            if pooled_handoffs[kind]:
                handoffs[kind].append(summarize(f"{kind} hand-off", pooled_handoffs[kind]))
    return lags, handoffs


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


async def _floor(url: str, n: int, every: int) -> tuple[list[float], float]:
    """The plain floor: aiohttp's websocket and json.loads per frame, the quote's stamp parsed; no
    hub object, no event, no handler call."""
    lags: list[float] = []
    count, first, last = 0, 0.0, 0.0
    async with aiohttp.ClientSession() as http, http.ws_connect(url.replace("http", "ws", 1) + "?access_token=x") as ws:
        await ws.send_str(s.HANDSHAKE_REQUEST)
        await ws.receive()
        subscribe = {"type": 1, "invocationId": "1", "target": s.SUBSCRIBE_CONTRACT_QUOTES, "arguments": [CID]}
        first = time.perf_counter()  # as the hubs: from the subscription
        await ws.send_str(json.dumps(subscribe) + s.RECORD_SEPARATOR)
        while count < n:
            msg = await ws.receive()
            now, t = datetime.now(UTC), time.perf_counter()
            for f in str(msg.data).split(s.RECORD_SEPARATOR):
                if not f:
                    continue
                d = json.loads(f)
                if d.get("target") == s.EVENT_QUOTE:
                    count += 1
                    if count % every == 0:
                        lags.append(
                            (now - datetime.fromisoformat(d["arguments"][1]["timestamp"])).total_seconds() * 1e9
                        )
            last = t
    return lags, count / max(last - first, 1e-9)


def _server(*args: str, cpu: int | None = None) -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.burst_server", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
    )  # fmt: skip
    assert proc.stdout is not None
    ready = proc.stdout.readline().split()
    return proc, ready[1], int(ready[2])


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    proc.wait(timeout=10)


def run(quick: bool = False) -> Section:
    kinds = (["rust", TOKIO, COALESCED, RECORDS] if native.enabled() else []) + ["signalrcore", FLOOR]
    reps = 3
    # Burst: quotes per second delivered to the handler.
    proc, url, n = _server(str(20 if quick else 100), "100")
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    burst_lag: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for _ in range(reps):
            for kind in kinds:
                summary, rate, _ = asyncio.run(_one(kind, url, n))
                rates[kind].append(rate)
                burst_lag[kind].append(summary.p99)
    finally:
        _stop(proc)
    # Paced: one quote per message, each alone: arrival -> handler, every quote sampled.
    proc, url, m = _server("1", "1", "paced")
    single = [k for k in kinds if k != COALESCED]  # one quote per message: nothing to coalesce
    try:
        paced, handoffs = _single(single, url, m, reps)
    finally:
        _stop(proc)
    pinned = _pinned_single(m, reps)
    head = f"{'path':<26} {'quotes/s':>12} {'range':>16} {'burst lag p99':>14} {'single p50':>11} {'single p99':>11}"
    lines = [
        f"\n## market stream into Python handlers: {n:,} quotes in messages of 100 (rate), then {SINGLE_ROUNDS} × {m:,}"
        f" quotes one per message {burst_server.PACE_S * 1e3:.0f} ms apart (single quote: server stamp -> handler;"
        f" the contenders' runs taking turns, lags pooled per repetition); medians of {reps} repetitions",
        head,
        "-" * len(head),
    ]
    for kind in kinds:
        got = Figure(tuple(rates[kind]), "quotes/s")
        p50 = statistics.median(x.p50 for x in paced[kind]) if kind in paced else float("nan")
        p99 = statistics.median(x.p99 for x in paced[kind]) if kind in paced else float("nan")
        lines.append(
            f"{kind:<26} {got.median:>12,.0f} {got.spread:>16} {fmt(statistics.median(burst_lag[kind])):>14}"
            f" {fmt(p50):>11} {fmt(p99):>11}"
        )
    lines.append(
        f"('{FLOOR}': aiohttp websocket + json.loads per frame, no hub, no handler: the floor;"
        f" '{COALESCED}': quotes/s counts the quotes consumed, delivered or coalesced away)"
    )
    for kind, got_handoffs in handoffs.items():
        if got_handoffs:  # the single-quote lag split where the Rust client handled the frame
            ho50 = statistics.median(x.p50 for x in got_handoffs)
            ho99 = statistics.median(x.p99 for x in got_handoffs)
            how = "the hand-off between threads" if kind == TOKIO else "read on the loop's thread: a future set"
            lines.append(
                f"{kind}: single quote, Rust handled -> handler ({how})"
                f" p50 {fmt(ho50)}, p99 {fmt(ho99)}; the rest is server stamp -> Rust handled"
            )
    if pinned is not None:
        lines.append(pinned.line)
    goals: list[Goal] = []
    if "rust" in kinds:
        vs_signalrcore = statistics.median(rates[COALESCED]) / statistics.median(rates["signalrcore"])
        above = [r.p99 - f.p99 for r, f in zip(paced["rust"], paced[FLOOR], strict=True)]
        above_before = [r.p99 - f.p99 for r, f in zip(paced[RECORDS], paced[FLOOR], strict=True)]
        above_tokio = [r.p99 - f.p99 for r, f in zip(paced[TOKIO], paced[FLOOR], strict=True)]

        def vs_before(a: str) -> str:
            rs = [x / y for x, y in zip(rates[a], rates[RECORDS], strict=True)]
            return f"{statistics.median(rs):.2f}× the records path before ({min(rs):.2f}..{max(rs):.2f}, paired)"

        goals = [
            Goal("stream: quotes/s into handlers (rust, coalesced to the latest per contract per batch)",
                 "≥ 500k quotes/s", Figure(tuple(rates[COALESCED]), "quotes/s"), at_least(rates[COALESCED], 500_000),
                 baseline=f"{vs_signalrcore:.2f}× signalrcore; {vs_before(COALESCED)}"),
            Goal("stream: single quote arrival -> handler p99 above the aiohttp+json floor (rust)", "≤ 50 µs",
                 Figure(tuple(x / 1e3 for x in above), "µs", signed=True), at_most(above, 50_000),
                 baseline=f"floor p99 {fmt(statistics.median(x.p99 for x in paced[FLOOR]))};"
                          f" the tokio reader {fmt(statistics.median(above_tokio))} above it;"
                          f" records path before {fmt(statistics.median(above_before))} above it",
                 note=SIGNED if statistics.median(above) < 0 else ""),
            *([] if pinned is None else [pinned.goal]),
            Goal("stream: quotes/s into handlers (rust, every quote delivered as a lazy quote)", "-",
                 Figure(tuple(rates["rust"]), "quotes/s"), None, baseline=vs_before("rust")),
        ]  # fmt: skip
    return Section("market stream", [decode_only(quick), "\n".join(lines)], goals)


@dataclass(frozen=True, slots=True)
class Pinned:
    line: str
    goal: Goal


def _pinned_single(m: int, reps: int) -> Pinned | None:
    """The single-quote run again with this process (the Rust worker and the loop's thread) on the first
    CPU and the server on the second: what `[app] cpu` buys (trading/affinity.py). None with one CPU or
    without the Rust stream."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or not native.enabled():
        return None
    before = set(cpus)
    proc, url, _ = _server("1", "1", "paced", cpu=cpus[1])
    try:
        pin({cpus[0]})
        lags, handed = _single(["rust", FLOOR], url, m, reps)
        handoffs = handed["rust"]
    finally:
        pin(before)
        _stop(proc)
    above = [r.p99 - f.p99 for r, f in zip(lags["rust"], lags[FLOOR], strict=True)]
    where = f"pinned: client on CPU {cpus[0]}, server on CPU {cpus[1]}"
    med = {k: (statistics.median(x.p50 for x in v), statistics.median(x.p99 for x in v)) for k, v in lags.items()}
    ho = (statistics.median(x.p50 for x in handoffs), statistics.median(x.p99 for x in handoffs))
    line = (
        f"{where} (as [app] cpu does): single quote rust p50 {fmt(med['rust'][0])}, p99 {fmt(med['rust'][1])};"
        f" floor p50 {fmt(med[FLOOR][0])}, p99 {fmt(med[FLOOR][1])}; Rust handled -> handler p50 {fmt(ho[0])},"
        f" p99 {fmt(ho[1])}"
    )
    goal = Goal(f"stream, {where}: single quote arrival -> handler p99 above the aiohttp+json floor (rust)",
                "≤ 50 µs", Figure(tuple(x / 1e3 for x in above), "µs", signed=True), at_most(above, 50_000),
                baseline=f"floor p99 {fmt(med[FLOOR][1])}; Rust handled -> handler p50 {fmt(ho[0])}",
                note=SIGNED if statistics.median(above) < 0 else "",
                )  # fmt: skip
    return Pinned(line, goal)
