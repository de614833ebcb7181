"""The Rust `aggregate_bars` and its Python twin give identical bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import native
from trading.marketdata.aggregation import BarArrays, aggregate_bars, aggregate_bars_py

MIN = 60_000_000_000

bar_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # minutes since the previous bar (0 = same start: folds into one bucket)
        st.floats(1, 30000, allow_nan=False, width=32),
        st.floats(0, 50, allow_nan=False, width=32),
        st.floats(0, 50, allow_nan=False, width=32),
        st.floats(0, 1, allow_nan=False),
        st.integers(0, 1000),
    ),
    max_size=300,
)


def _arrays(rows: list[tuple[int, float, float, float, float, int]], t0: int) -> BarArrays:
    ts, o, h, lo, c, v = [], [], [], [], [], []
    t = t0
    for gap, base, up, down, frac, vol in rows:
        t += gap * MIN
        ts.append(t)
        hi, low = base + up, base - down
        o.append(base)
        h.append(hi)
        lo.append(low)
        c.append(low + (hi - low) * frac)
        v.append(float(vol))
    return BarArrays(np.array(ts, np.int64), *(np.array(x, np.float64) for x in (o, h, lo, c, v)))


def _assert_same(a: BarArrays, b: BarArrays) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(not native.loaded(), reason="Rust extension not built")
@settings(max_examples=200, deadline=None)
@given(
    bar_rows, st.sampled_from([2, 5, 15, 60, 240]), st.sampled_from([0, -4 * 60, -5 * 60]), st.integers(-10_000, 10_000)
)
def test_rust_and_python_agree(
    rows: list[tuple[int, float, float, float, float, int]], minutes: int, offset_min: int, t0_min: int
) -> None:
    from trading import _native

    bars = _arrays(rows, t0_min * MIN)
    py = aggregate_bars_py(bars, minutes * MIN, offset_min * MIN)
    rs = BarArrays(*_native.aggregate_bars(*bars, minutes * MIN, offset_min * MIN))
    _assert_same(py, rs)


@settings(max_examples=100, deadline=None)
@given(bar_rows, st.sampled_from([5, 15, 60]))
def test_python_twin_invariants(rows: list[tuple[int, float, float, float, float, int]], minutes: int) -> None:
    bars = _arrays(rows, 0)
    out = aggregate_bars_py(bars, minutes * MIN)
    assert out.volume.sum() == pytest.approx(bars.volume.sum())
    assert len(out.ts) == len(set((bars.ts // (minutes * MIN)).tolist()))
    assert np.all(out.high >= out.low)
    assert np.all(out.ts % (minutes * MIN) == 0)


def test_active_path_matches_twin_on_known_input() -> None:
    ts = np.arange(7, dtype=np.int64) * MIN
    x = np.arange(1, 8, dtype=np.float64)
    out = aggregate_bars(BarArrays(ts, x, x + 0.5, x - 0.5, x, np.ones(7)), 5 * MIN)
    np.testing.assert_array_equal(out.ts, [0, 5 * MIN])
    np.testing.assert_array_equal(out.open, [1.0, 6.0])
    np.testing.assert_array_equal(out.high, [5.5, 7.5])
    np.testing.assert_array_equal(out.volume, [5.0, 2.0])


@pytest.mark.parametrize("fn", ["py", "active"])
def test_bad_input_is_refused(fn: str) -> None:
    agg = aggregate_bars_py if fn == "py" else aggregate_bars
    x = np.ones(2)
    with pytest.raises(ValueError, match="sorted"):
        agg(BarArrays(np.array([5, 1], np.int64), x, x, x, x, x), 10)
    with pytest.raises(ValueError, match="period"):
        agg(BarArrays(np.array([1, 5], np.int64), x, x, x, x, x), 0)
