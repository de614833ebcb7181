"""The streaming `BarAggregator`: Rust and Python twins agree on random tick streams interleaved
with clock advances; bars close on time without ticks; no phantom bars while nothing trades."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import native
from trading.marketdata.aggregation import (
    BarAggregator,
    BarArrays,
    BarRecord,
    PyBarAggregator,
    aggregate_bars,
    aggregate_bars_py,
    aggregate_ticks_py,
    fixed_zone,
    new_bar_aggregator,
    ny_zone,
)

S = 1_000_000_000
MIN = 60 * S
H = 60 * MIN
FALL_2024 = 1_730_613_600 * S
needs_rust = pytest.mark.skipif(not native.loaded(), reason="Rust extension not built")

# ("tick", gap_s, price, size) | ("clock", ahead_s, 0, 0) | ("batch", n, price, size)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(-120, 200), st.floats(1, 1000, width=32), st.integers(0, 9)),
        st.tuples(st.just("clock"), st.integers(0, 400), st.just(0.0), st.just(0)),
        st.tuples(st.just("batch"), st.integers(1, 5), st.floats(1, 1000, width=32), st.integers(0, 9)),
    ),
    max_size=200,
)


def _rust(period: int, origin: int, zone: str) -> BarAggregator:
    from trading import _native

    z = ny_zone() if zone == "ny" else fixed_zone(0)
    agg: BarAggregator = _native.BarAggregator(period, origin_ns=origin, tz_utc=z.utc, tz_offset=z.offset)
    return agg


def _run(agg: BarAggregator, script: list[tuple[str, int, float, int]], t0: int) -> list[object]:
    seen: list[object] = []
    t = clock = t0
    for kind, n, price, size in script:
        if kind == "tick":
            t += n * S
            seen.append(agg.push(t, price, float(size)))
        elif kind == "clock":
            clock = max(clock, t) + n * S
            seen.append(agg.advance(clock))
        else:
            ts = np.array([t + i * S for i in range(n)], np.int64)
            t += n * S
            seen.append(agg.push_batch(ts, np.full(n, price), np.full(n, float(size))))
        seen.append(agg.forming())
    seen.append(agg.flush())
    seen.append((agg.late, agg.invalid))
    return seen


@needs_rust
@settings(max_examples=300, deadline=None)
@given(
    steps, st.sampled_from([S, MIN, 5 * MIN, H, 4 * H]), st.sampled_from(["utc", "ny"]), st.sampled_from([0, 18 * H])
)
def test_rust_and_python_aggregators_agree(
    script: list[tuple[str, int, float, int]], period: int, zone: str, origin: int
) -> None:
    z = ny_zone() if zone == "ny" else fixed_zone(0)
    py = _run(PyBarAggregator(period, origin, z), script, FALL_2024 - 2 * H)
    rs = _run(_rust(period, origin, zone), script, FALL_2024 - 2 * H)
    assert py == rs


@settings(max_examples=150, deadline=None)
@given(steps)
def test_streaming_equals_batch_when_no_clock(script: list[tuple[str, int, float, int]]) -> None:
    ticks = [(n, p, s) for kind, n, p, s in script if kind == "tick"]
    ts = np.cumsum([n * S for n, _, _ in ticks]).astype(np.int64) if ticks else np.empty(0, np.int64)
    p = np.array([x[1] for x in ticks], np.float64)
    v = np.array([float(x[2]) for x in ticks], np.float64)
    agg = PyBarAggregator(MIN)
    rows = agg.push_batch(ts, p, v) + agg.flush()
    batch = aggregate_ticks_py(ts, p, v, MIN)
    assert rows == list(zip(*(c.tolist() for c in batch), strict=True))


@pytest.mark.parametrize("path", ["python", "active"])
def test_clock_closes_bars_and_nothing_is_invented(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "python":
        monkeypatch.setenv("TRADEBOT_RUST", "0")
    agg = new_bar_aggregator(MIN, zone=ny_zone())
    assert agg.push(10 * S, 100.0, 1.0) == []
    assert agg.push(20 * S, 101.0, 2.0) == []
    assert agg.advance(MIN - 1) == []
    assert agg.forming() == BarRecord(0, 100.0, 101.0, 100.0, 101.0, 3.0)
    assert agg.advance(MIN) == [BarRecord(0, 100.0, 101.0, 100.0, 101.0, 3.0)]
    # Market closed for an hour: the clock runs, no bar appears.
    assert all(agg.advance(MIN + k * S) == [] for k in range(0, 3600, 60))
    assert agg.forming() is None
    assert agg.push(30 * S, 99.0, 1.0) == []  # belongs to a closed bar: late
    assert agg.late == 1
    assert agg.push(2 * H, 102.0, 1.0) == []
    assert agg.push(2 * H + MIN, 103.0, 1.0) == [BarRecord(2 * H, 102.0, 102.0, 102.0, 102.0, 1.0)]
    assert agg.push(2 * H + MIN, float("nan"), 1.0) == [] and agg.invalid == 1
    [last] = agg.flush()
    assert last == BarRecord(2 * H + MIN, 103.0, 103.0, 103.0, 103.0, 1.0)
    assert (last.ts, last.close, last.volume) == (2 * H + MIN, 103.0, 1.0)  # named fields, on both paths
    assert agg.period_ns == MIN


@needs_rust
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 90), max_size=300),
    st.sampled_from([5 * MIN, 2 * H, 4 * H, 24 * H]),
    st.sampled_from([0, 18 * H]),
)
def test_bars_to_bars_parity_in_ny_zone(gaps: list[int], period: int, origin: int) -> None:
    ts = (FALL_2024 - 20 * H + np.cumsum(np.array(gaps, np.int64)) * MIN).astype(np.int64)
    x = np.arange(len(ts), dtype=np.float64)
    bars = BarArrays(ts, x, x + 1, x - 1, x, np.ones(len(ts)))
    py = aggregate_bars_py(bars, period, origin_ns=origin, zone=ny_zone())
    rs = aggregate_bars(bars, period, origin_ns=origin, zone=ny_zone())
    for a, b in zip(py, rs, strict=True):
        np.testing.assert_array_equal(a, b)
