"""Latency histograms: exact nearest-rank percentiles, and samples flushed to Postgres in batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trading.clock import SimClock
from trading.domain import LatencySample
from trading.metrics import LatencyMetrics, percentile, stage
from trading.store import Store

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [percentile(values, q) for q in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert percentile([7], 99) == 7
    assert percentile([], 50) == 0


def test_summary_per_operation_and_path() -> None:
    metrics = LatencyMetrics(SimClock(T0))
    for n in range(1, 201):
        metrics.record("place", "rust", n * 1_000)
    metrics.record("place", "python", 3_000_000, ok=False)
    with pytest.raises(ZeroDivisionError), metrics.timer("cancel", "python"):
        _ = 1 / 0
    rows = {(s.operation, s.path): s for s in metrics.summary()}
    rust = rows[("place", "rust")]
    assert (rust.count, rust.p50, rust.p95, rust.p99, rust.max, rust.errors) == (
        200,
        100_000,
        190_000,
        198_000,
        200_000,
        0,
    )
    assert rows[("place", "python")].errors == 1
    assert rows[("cancel", "python")].count == 1 and rows[("cancel", "python")].errors == 1
    table = metrics.table().splitlines()
    assert table[0].split() == ["operation", "path", "count", "p50", "ms", "p95", "ms", "p99", "ms", "max", "ms"]
    assert table[2].split()[:3] == ["place", "python", "1"]
    with pytest.raises(ValueError, match="'rust' or 'python'"):
        metrics.record("place", "go", 1)


def test_reservoir_keeps_count_and_max_exact() -> None:
    metrics = LatencyMetrics(SimClock(T0), max_samples=100)
    for n in range(10_000):
        metrics.record("decode", "rust", n)
    [row] = metrics.summary()
    assert (row.count, row.max) == (10_000, 9_999)
    assert 0 <= row.p50 < 10_000


async def test_flush_writes_batches_to_the_store(store: Store) -> None:
    clock = SimClock(T0)
    metrics = LatencyMetrics(clock, store.latency, batch_size=4)
    for n in range(10):
        metrics.record("place", "rust", 1_000 + n, extra={"n": str(n)})
    assert metrics.pending == 10 and metrics.due
    assert await metrics.flush() == 10
    assert metrics.pending == 0 and await metrics.flush() == 0
    stored = await store.latency.samples("place")
    assert stored[0] == LatencySample("place", "rust", 1_000, T0, True, {"n": "0"})
    assert sorted(s.nanos for s in stored) == [1_000 + n for n in range(10)]


async def test_a_failed_flush_keeps_the_samples() -> None:
    class Broken:
        async def insert_batch(self, samples: list[LatencySample]) -> int:
            raise ConnectionError("database went away")

    metrics = LatencyMetrics(SimClock(T0), Broken())
    metrics.record("place", "rust", 5)
    with pytest.raises(ConnectionError):
        await metrics.flush()
    assert metrics.pending == 1


async def test_a_busy_stage_is_thinned_for_the_store_but_counted_whole(store: Store) -> None:
    metrics = LatencyMetrics(SimClock(T0), store.latency, stage_store_every_ns=3_600 * 10**9)
    for n in range(1_000):
        metrics.record(stage("decoded"), "rust", n)
        metrics.record("place", "rust", n)
    rows = {(s.operation, s.path): s for s in metrics.summary()}
    assert rows[(stage("decoded"), "rust")].count == rows[("place", "rust")].count == 1_000
    assert await metrics.flush() == 1 + 1_000  # the stage's first sample; every broker call
    assert [s.nanos for s in await store.latency.samples(stage("decoded"))] == [0]
    every = LatencyMetrics(SimClock(T0), store.latency, stage_store_every_ns=0)
    for n in range(5):
        every.record(stage("risk"), "python", n)
    assert every.pending == 5
