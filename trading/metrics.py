"""Latency histograms per (operation, path): p50/p95/p99/max and count, flushed to the store in batches.

`record()` is cheap and synchronous (it is called on the order path); `flush()` writes what was
recorded since the last flush in one COPY. Percentiles are exact over the samples kept: every sample
up to `max_samples` per key, then a uniform reservoir of that size (count and max stay exact).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, Protocol

from trading.clock import Clock
from trading.domain import LatencySample

Path = Literal["rust", "python"]


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

    def add(self, nanos: int, ok: bool = True) -> None:
        self.count += 1
        if not ok:
            self.errors += 1
        self.max = max(self.max, nanos)
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
    ) -> None:
        self._clock = clock
        self._sink = sink
        self._batch_size = batch_size
        self._max_samples = max_samples
        self._rng = random.Random(seed)
        self._histograms: dict[tuple[str, str], Histogram] = {}
        self._pending: list[LatencySample] = []
        self._flush_lock = asyncio.Lock()

    def record(
        self, operation: str, path: str, nanos: int, *, ok: bool = True, extra: dict[str, str] | None = None
    ) -> None:
        if path not in ("rust", "python"):
            raise ValueError(f"latency path must be 'rust' or 'python', got {path!r}")
        key = (operation, path)
        hist = self._histograms.get(key)
        if hist is None:
            hist = self._histograms[key] = Histogram(self._max_samples, self._rng)
        hist.add(nanos, ok)
        if self._sink is not None:
            self._pending.append(LatencySample(operation, path, nanos, self._clock.now(), ok, extra or {}))

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
                await self._sink.insert_batch(batch)
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
