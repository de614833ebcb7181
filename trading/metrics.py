"""Latency histograms per (operation, path): p50/p95/p99/max and count, flushed to the store in batches.

`record()` is cheap and synchronous (it is called on the order path); `flush()` writes what was
recorded since the last flush in one COPY. Percentiles are exact over the samples kept: every sample
up to `max_samples` per key, then a uniform reservoir of that size (count and max stay exact). Each
histogram also counts its samples into fixed buckets (`BUCKETS_NS`, cumulative counts and a sum): what
the Prometheus endpoint serves, kept here so the hot path never touches the exporter.

Stages (`STAGES`): the order's way through the bot, each a span ending at the point it is named after
and measured at the same Python-side points whichever implementation did the work (the sample's path
is the implementation of the component that did it). Recorded as operation `stage.<name>`.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from trading.clock import Clock, LiveClock, from_ns
from trading.domain import LatencySample

Path = Literal["rust", "python"]

STAGE_PREFIX = "stage."
# (name, the span it measures), in the order an event travels; the path is the component's implementation.
STAGES: tuple[tuple[str, str], ...] = (
    ("decoded", "hub frame received by Python -> decoded into events (the stream's path)"),
    ("handler", "decoded -> the engine's handler takes the batch (the stream's path)"),
    ("strategy", "the strategy's callback deciding on a quote, bar or session event (the strategy's path)"),
    ("risk", "the risk screen of one order (the check that answered: [risk] impl)"),
    (
        "order_sent",
        "risk passed -> the order handed to the executor (a new order's intent is written beside the send; "
        "a repeated tag's is stored first) (the executor's path)",
    ),
    ("intent", "risk passed -> a new order's intent committed, awaited beside the send (the executor's path)"),
    # The whole bot-internal span of an order a quote triggers, measured the same way on both paths.
    (
        "tick_to_order",
        "hub frame off the socket -> the order request handed to the HTTP connection, for an "
        "order or stop move a quote triggers (the executor's path)",
    ),
    ("acknowledged", "handed to the executor -> the broker's order id back (the executor's path)"),
    ("fill", "acknowledged -> its first fill event reaches the engine (the executor's path)"),
    ("stored", "fill event -> the fill and its notification stored (the user stream's path)"),
    ("posted", "notification stored -> posted to Discord (Python)"),
    # Copy mode (several accounts): a leader's fill taken by its engine -> the follower's order handed to
    # the follower's engine (the follower's order path); the order's own stages follow from there.
    ("mirror", "leader fill taken -> the follower's order handed to its engine (the follower's executor path)"),
)
STAGE_NAMES = tuple(name for name, _ in STAGES)
COPY_STAGES = ("mirror",)  # only a process with copy mode records these
QUOTE_STAGES = ("tick_to_order",)  # only an order a quote triggers records these (not a session job's)
# Prometheus histogram bucket bounds: 10 us .. 10 s (the order path spans both ends).
BUCKETS_NS: tuple[int, ...] = (*(int(m * 10**e) for e in range(4, 10) for m in (1, 2.5, 5)), 10**10)


_NO_EXTRA: dict[str, str] = {}  # shared, never written: a sample without extra allocates no dict


# A sample recorded, not yet flushed: (operation, path, nanos, at, ok, extra), `at` the clock's datetime
# or, on the wall clock, ns since the epoch.
_Pending = tuple[str, str, int, datetime | int, bool, dict[str, str]]


def _sample(p: _Pending) -> LatencySample:
    operation, path, nanos, at, ok, extra = p
    when = at if isinstance(at, datetime) else from_ns(at)
    return LatencySample(operation, path, nanos, when, ok, extra)


def stage(name: str) -> str:
    """The operation a stage's samples are recorded under."""
    return STAGE_PREFIX + name


class LatencySink(Protocol):
    """Where flushed samples go: `Store.latency` in the service."""

    async def insert_batch(self, samples: list[LatencySample]) -> int: ...


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """One row of the latency table, in nanoseconds."""

    operation: str
    path: str
    count: int
    p50: int
    p95: int
    p99: int
    max: int
    errors: int

    def as_row(self) -> list[str]:
        return [self.operation, self.path, str(self.count), *(_ms(v) for v in (self.p50, self.p95, self.p99, self.max))]


def _ms(nanos: int) -> str:
    return f"{nanos / 1e6:.3f}"


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0 for an empty one."""
    if not sorted_values:
        return 0
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100), at least 1
    return sorted_values[int(rank) - 1]


class Histogram:
    def __init__(self, max_samples: int, rng: random.Random) -> None:
        self._max_samples = max_samples
        self._rng = rng
        self._kept: list[int] = []
        self.count = 0
        self.errors = 0
        self.max = 0
        self.sum = 0
        self.buckets = [0] * (len(BUCKETS_NS) + 1)  # per bucket (not cumulative); the last is +Inf
        self.stored_at = -(1 << 62)  # perf_counter_ns of the last sample kept for the store (stages)
        self.stage = False  # a stage's histogram (its samples go to the store at most once per span)

    def add(self, nanos: int, ok: bool = True) -> None:
        self.count += 1
        self.sum += nanos
        self.buckets[bisect.bisect_left(BUCKETS_NS, nanos)] += 1
        if not ok:
            self.errors += 1
        if nanos > self.max:
            self.max = nanos
        if len(self._kept) < self._max_samples:
            self._kept.append(nanos)
        else:
            # Reservoir sampling: every sample seen so far stays equally likely to be kept.
            slot = self._rng.randrange(self.count)
            if slot < self._max_samples:
                self._kept[slot] = nanos

    def percentiles(self, *qs: float) -> list[int]:
        ordered = sorted(self._kept)
        return [percentile(ordered, q) for q in qs]


class LatencyMetrics:
    def __init__(
        self,
        clock: Clock,
        sink: LatencySink | None = None,
        *,
        batch_size: int = 500,
        max_samples: int = 100_000,
        seed: int = 0,
        stage_store_every_ns: int = 100_000_000,
    ) -> None:
        self._clock = clock
        self._sink = sink
        self._batch_size = batch_size
        self._max_samples = max_samples
        self._rng = random.Random(seed)
        self._histograms: dict[tuple[str, str], Histogram] = {}
        self._pending: list[_Pending] = []
        # The live clock's now() is datetime.now(UTC): take time.time_ns() instead (the same clock, to the
        # same microsecond: datetime.now floors the system time to it) and make the datetime at the flush.
        self._wall_ns: Callable[[], int] | None = time.time_ns if type(clock) is LiveClock else None
        self._flush_lock = asyncio.Lock()
        # A stage fires on every quote: its histogram (and Prometheus) takes every sample, the store at
        # most one per key per this span (taken by time, so independent of the values), to keep
        # latency_samples at thousands of rows an hour rather than millions a day. Order stages are rare
        # enough to be stored whole.
        self._stage_store_every_ns = stage_store_every_ns
        self.counters: dict[tuple[str, str, str], int] = {}  # (name, path, outcome) -> count: orders, fills

    def record(
        self, operation: str, path: str, nanos: int, *, ok: bool = True, extra: dict[str, str] | None = None
    ) -> None:
        key = (operation, path)
        hist = self._histograms.get(key)
        if hist is None:  # a key's first sample: checked once (this is called several times per order)
            if path not in ("rust", "python"):
                raise ValueError(f"latency path must be 'rust' or 'python', got {path!r}")
            hist = self._histograms[key] = Histogram(self._max_samples, self._rng)
            hist.stage = operation.startswith(STAGE_PREFIX)
        hist.add(nanos, ok)
        if self._sink is None:
            return
        if hist.stage:
            now = time.perf_counter_ns()
            if now - hist.stored_at < self._stage_store_every_ns:
                return
            hist.stored_at = now
        # The hot path keeps a plain tuple (the sample is built when flushed) and, on the wall clock, the
        # time as integer ns: a frozen dataclass and a datetime per order cost ~2 us together.
        at = self._wall_ns() if self._wall_ns is not None else self._clock.now()
        self._pending.append((operation, path, nanos, at, ok, extra or _NO_EXTRA))

    def count(self, name: str, path: str, outcome: str = "", n: int = 1) -> None:
        """Add to a counter (orders placed by path and outcome, fills by path): served by Prometheus."""
        key = (name, path, outcome)
        self.counters[key] = self.counters.get(key, 0) + n

    def histograms(self) -> list[tuple[str, str, Histogram]]:
        """(operation, path, histogram) of every key, a snapshot of the keys (for the exporter)."""
        return [(op, path, h) for (op, path), h in list(self._histograms.items())]

    @contextmanager
    def timer(self, operation: str, path: str) -> Iterator[None]:
        """Time the block (perf_counter_ns); an exception records the sample as not ok and propagates."""
        start = time.perf_counter_ns()
        ok = False
        try:
            yield
            ok = True
        finally:
            self.record(operation, path, time.perf_counter_ns() - start, ok=ok)

    @property
    def pending(self) -> int:
        """Samples recorded but not yet flushed."""
        return len(self._pending)

    @property
    def due(self) -> bool:
        """A full batch is waiting."""
        return len(self._pending) >= self._batch_size

    async def flush(self) -> int:
        """Write the pending samples in batches of `batch_size`; how many were written.

        A failed write keeps the unwritten samples for the next flush (nothing is dropped silently).
        """
        if self._sink is None:
            return 0
        written = 0
        async with self._flush_lock:
            while self._pending:
                batch = self._pending[: self._batch_size]
                await self._sink.insert_batch([_sample(p) for p in batch])
                del self._pending[: len(batch)]
                written += len(batch)
        return written

    async def flush_every(self, seconds: float) -> None:
        """Flush forever on this clock's time (run as a task; cancel to stop, then `flush()` once more)."""
        while True:
            await self._clock.sleep(seconds)
            await self.flush()

    def summary(self) -> list[LatencySummary]:
        """One row per (operation, path), sorted; plain data for a Discord embed or the CLI."""
        out = []
        for (operation, path), hist in sorted(self._histograms.items()):
            p50, p95, p99 = hist.percentiles(50, 95, 99)
            out.append(LatencySummary(operation, path, hist.count, p50, p95, p99, hist.max, hist.errors))
        return out

    def table(self) -> str:
        """The summary as a fixed-width text table, milliseconds."""
        header = ["operation", "path", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"]
        rows = [header] + [s.as_row() for s in self.summary()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        return "\n".join(
            "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows
        )

    def reset(self) -> None:
        """Forget the histograms (pending samples are still flushed)."""
        self._histograms.clear()
