"""Ticks -> bars: the Rust `aggregate_ticks` and its Python twin agree, including out-of-order and
duplicate timestamps, non-finite prices, fixed offsets and the New York zone across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import native
from trading.marketdata.aggregation import (
    BarArrays,
    Bucketer,
    Zone,
    aggregate_bars,
    aggregate_bars_py,
    aggregate_ticks,
    aggregate_ticks_py,
    fixed_zone,
    ny_zone,
)

S = 1_000_000_000
MIN = 60 * S
H = 60 * MIN
FALL_2024 = int(datetime(2024, 11, 3, 6, tzinfo=UTC).timestamp()) * S
SPRING_2024 = int(datetime(2024, 3, 10, 7, tzinfo=UTC).timestamp()) * S
needs_rust = pytest.mark.skipif(not native.loaded(), reason="Rust extension not built")

tick_rows = st.lists(
    st.tuples(
        st.integers(-90, 600),  # seconds after the previous tick (negative = out of order, 0 = duplicate)
        st.one_of(st.floats(1, 30000, allow_nan=False, width=32), st.just(float("nan"))),
        st.integers(0, 50),
    ),
    max_size=300,
)
zones = st.sampled_from(["utc", "ny", "fixed-5h"])
periods = st.sampled_from([1 * S, 15 * S, MIN, 5 * MIN, 7 * MIN, H, 2 * H, 4 * H, 24 * H])
starts = st.sampled_from([FALL_2024 - 3 * H, SPRING_2024 - 3 * H, 0, FALL_2024 + 5 * 24 * H])


def _zone(name: str) -> Zone:
    return {"utc": fixed_zone(0), "ny": ny_zone(), "fixed-5h": fixed_zone(-5 * H)}[name]


def _ticks(rows: list[tuple[int, float, int]], t0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts, p, v, t = [], [], [], t0
    for gap, price, size in rows:
        t += gap * S
        ts.append(t)
        p.append(price)
        v.append(float(size))
    return np.array(ts, np.int64), np.array(p, np.float64), np.array(v, np.float64)


def _same(a: BarArrays, b: BarArrays) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@needs_rust
@settings(max_examples=300, deadline=None)
@given(tick_rows, periods, zones, starts, st.sampled_from([0, 18 * H]))
def test_rust_and_python_agree_on_ticks(
    rows: list[tuple[int, float, int]], period: int, zone: str, t0: int, origin: int
) -> None:
    from trading import _native

    ts, p, v = _ticks(rows, t0)
    z = _zone(zone)
    py = aggregate_ticks_py(ts, p, v, period, origin, z)
    rs = BarArrays(*_native.aggregate_ticks(ts, p, v, period, origin_ns=origin, tz_utc=z.utc, tz_offset=z.offset))
    _same(py, rs)


@settings(max_examples=150, deadline=None)
@given(tick_rows, periods, zones, starts)
def test_vectorized_twin_equals_reference_loop_on_sorted_ticks(
    rows: list[tuple[int, float, int]], period: int, zone: str, t0: int
) -> None:
    from trading.marketdata.aggregation import PyBarAggregator

    ts, p, v = _ticks([(abs(g), pr, s) for g, pr, s in rows], t0)
    z = _zone(zone)
    agg = PyBarAggregator(period, 0, z)
    ref = agg.push_batch(ts, p, v) + agg.flush()
    out = aggregate_ticks_py(ts, p, v, period, 0, z)
    assert [tuple(r) for r in zip(*(c.tolist() for c in out), strict=True)] == ref
    assert agg.late == 0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(FALL_2024 - 40 * H, SPRING_2024 + 400 * 24 * H), periods, st.sampled_from([0, 18 * H, 9 * H + 30 * MIN])
)
def test_every_instant_lies_in_its_bucket_and_buckets_tile(t: int, period: int, origin: int) -> None:
    b = Bucketer(period, origin, ny_zone())
    s, e = b.bucket(t)
    assert s <= t < e
    assert b.bucket(e)[0] == e  # the next bucket starts where this one ends
    assert b.bucket(s - 1)[1] == s


def test_session_days_from_six_pm_span_dst_changes() -> None:
    b = Bucketer(24 * H, 18 * H, ny_zone())
    s, e = b.bucket(FALL_2024)
    assert (e - s, s) == (25 * H, FALL_2024 - 8 * H)
    s, e = b.bucket(SPRING_2024)
    assert (e - s, s) == (23 * H, SPRING_2024 - 8 * H)
    # An ordinary day: local 18:00 -> 18:00, 24 h.
    s, e = b.bucket(SPRING_2024 + 10 * 24 * H)
    assert e - s == 24 * H
    assert datetime.fromtimestamp(s / S, UTC).hour == 22  # 18:00 EDT


def test_ny_zone_has_the_2024_transitions() -> None:
    z = ny_zone()
    assert SPRING_2024 in z.utc.tolist() and FALL_2024 in z.utc.tolist()
    i = z.utc.tolist().index(SPRING_2024)
    assert (z.offset[i - 1], z.offset[i]) == (-5 * H, -4 * H)


@pytest.mark.parametrize("path", ["python", "active"])
def test_known_ticks_and_rules(path: str) -> None:
    agg = aggregate_ticks_py if path == "python" else aggregate_ticks
    ts = np.array([MIN + 30 * S, MIN + 10 * S, MIN - 5 * S, 2 * MIN, 3 * MIN + 1, 3 * MIN + 1], np.int64)
    p = np.array([5.0, 4.0, 100.0, 6.0, 7.0, float("inf")])
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    out = agg(ts, p, v, MIN)
    assert out.ts.tolist() == [MIN, 2 * MIN, 3 * MIN]  # the late tick (MIN - 5 s) is dropped
    assert out.open.tolist() == [5.0, 6.0, 7.0]
    assert out.close.tolist() == [4.0, 6.0, 7.0]
    assert out.volume.tolist() == [3.0, 4.0, 5.0]


@pytest.mark.parametrize("path", ["python", "active"])
def test_bars_to_bars_with_session_zone(path: str) -> None:
    fn = aggregate_bars_py if path == "python" else aggregate_bars
    ts = np.arange(FALL_2024 - 30 * H, FALL_2024 + 30 * H, MIN, dtype=np.int64)
    x = np.ones(len(ts))
    out = fn(BarArrays(ts, x, x, x, x, x), 24 * H, origin_ns=18 * H, zone=ny_zone())
    assert out.volume.tolist() == [(out.ts[1] - ts[0]) // MIN, 25 * 60, len(ts) - (out.ts[1] - ts[0]) // MIN - 1500]
