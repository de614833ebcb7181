"""The bars route per symbol (trading/marketdata/routed.py) on the real Rust and Python aggregators: a
Rust aggregator that raises at any print (after having applied it, its output lost) trips the bars
breaker and Python carries on with the same bars as a pure-Python run; route changes at any print
(rust -> python -> shadow -> rust) give the same bars too; bad input changes nothing and trips nothing;
the breaker hears one sample per call on the Rust path."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from trading import native
from trading.breaker import Bounds
from trading.marketdata.aggregation import NS, BarRecord, BarRow, PyBarAggregator
from trading.marketdata.routed import RoutedBarAggregator
from trading.marketdata.shadow import ShadowBarAggregator
from trading.shadow import Comparator

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
MIN = 60 * NS
BARS = native.Component.BARS


def prints(n: int = 400, seed: int = 3) -> list[tuple[int, float, float]]:
    """A few minutes of prints, some late (out of order), some with a NaN price, gaps of whole minutes."""
    rnd = random.Random(seed)
    t, out = 10 * MIN, []
    for _ in range(n):
        t += rnd.choice((1, 2, 5, 7)) * NS * rnd.choice((1, 1, 1, 20))
        ts = t - rnd.choice((0, 0, 0, 0, 90)) * NS  # now and then a late one
        price = float("nan") if rnd.random() < 0.01 else 100 + rnd.randint(-8, 8) / 4
        out.append((ts, price, float(rnd.randint(1, 3))))
    return out


def rows(bars: Sequence[BarRow]) -> list[BarRecord]:
    return [BarRecord(int(b.ts), b.open, b.high, b.low, b.close, b.volume) for b in bars]


def pure(ps: list[tuple[int, float, float]]) -> list[BarRecord]:
    agg = PyBarAggregator(MIN)
    out = [r for p in ps for r in agg.push(*p)]
    return rows(out + agg.flush())


class RaisesAt:
    """Wraps the Rust aggregator: the `at`-th push is applied, then raises (its output lost)."""

    def __init__(self, inner: Any, at: int) -> None:
        self.inner, self.at, self.calls = inner, at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def push(self, ts: int, price: float, size: float) -> Any:
        self.calls += 1
        out = self.inner.push(ts, price, size)
        if self.calls == self.at:
            raise RuntimeError("injected: the Rust aggregator failed")
        return out


@pytest.mark.parametrize("at", [1, 2, 37, 113, 250, 399])
def test_a_rust_error_at_any_print_loses_nothing(at: int) -> None:
    ps = prints()
    agg = RoutedBarAggregator(MIN, None, "MNQ")
    assert native.route(BARS) == "rust"
    agg.inner = RaisesAt(agg.inner, at)
    out = agg.push_prints(ps[:200]) + agg.push_prints(ps[200:]) + agg.flush()
    assert rows(out) == pure(ps)
    breaker = native.breaker(BARS)
    assert breaker.open and "injected" in breaker.reason and agg.mode == "python"


def test_route_changes_at_any_print_give_the_pure_bars() -> None:
    ps = prints(600, seed=11)
    comparator = Comparator("bars", lambda m: None)
    agg = RoutedBarAggregator(MIN, comparator, "MNQ")
    out: list[BarRow] = []
    for i, p in enumerate(ps):
        if i % 53 == 0:
            native.set_route(BARS, ("rust", "python", "shadow")[(i // 53) % 3])
        out += agg.push(*p)
        if i % 97 == 0:
            out += agg.advance(p[0] - 120 * NS)  # a clock behind the prints closes nothing
    out += agg.flush()
    assert rows(out) == pure(ps)
    assert agg.switches >= 10 and comparator.mismatches == {}
    assert comparator.take_compared() > 0


def test_a_route_change_carries_a_batch_and_advance() -> None:
    ps = prints(300, seed=5)
    ts = np.array([p[0] for p in ps], np.int64)
    price = np.array([p[1] for p in ps], np.float64)
    size = np.array([p[2] for p in ps], np.float64)
    agg = RoutedBarAggregator(MIN, None, "MNQ")
    out = list(agg.push_batch(ts[:150], price[:150], size[:150]))
    native.set_route(BARS, "python")
    out += agg.push_batch(ts[150:], price[150:], size[150:])
    native.set_route(BARS, "rust")
    out += agg.advance(int(ts.max()) + MIN)
    assert rows(out) == pure(ps) and agg.forming() is None


def test_bad_input_changes_nothing_and_trips_nothing() -> None:
    agg = RoutedBarAggregator(MIN, None, "MNQ")
    agg.push(10 * MIN, 100.0, 1.0)
    with pytest.raises(ValueError):
        agg.push_batch(np.array([1, 2], np.int64), np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        agg.push(2**64, 100.0, 1.0)
    with pytest.raises((TypeError, ValueError)):
        agg.push(10 * MIN + 1, "cheap", 1.0)  # type: ignore[arg-type]
    assert not native.breaker(BARS).open and agg.mode == "rust"
    assert agg.forming() == BarRecord(10 * MIN, 100.0, 100.0, 100.0, 100.0, 1.0)


def test_the_breaker_hears_one_sample_per_call_and_a_latency_bound_applies() -> None:
    breaker = native.breaker(BARS)
    agg = RoutedBarAggregator(MIN, None, "MNQ")
    ps = prints(40)
    out = agg.push_prints(ps[:3])
    assert len(breaker._outcomes) == 1  # one feed event, one sample
    native.set_bounds(Bounds(window=20, min_calls=5, max_p95_ms=1e-9))  # no Rust call is that fast
    try:
        for p in ps[3:8]:
            out += agg.push(*p)
        assert breaker.open and "p95 latency" in breaker.reason
        out += agg.push_prints(ps[8:]) + agg.flush()
        assert agg.mode == "python" and rows(out) == pure(ps)
    finally:
        native.set_bounds(Bounds())


def test_a_shadow_twin_that_raises_is_a_mismatch_and_trips_the_breaker() -> None:
    native.set_route(BARS, "shadow")
    comparator = Comparator("bars", lambda m: None)
    agg = RoutedBarAggregator(MIN, comparator, "MNQ")
    shadow = agg.inner
    assert isinstance(shadow, ShadowBarAggregator)
    shadow.rust = RaisesAt(shadow.rust, 30)
    ps = prints(200)
    out = agg.push_prints(ps[:100]) + agg.push_prints(ps[100:]) + agg.flush()
    assert rows(out) == pure(ps)  # Python served throughout
    assert "bars.error" in comparator.mismatches and native.breaker(BARS).open and agg.mode == "python"
