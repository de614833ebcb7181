"""The simulated market's price path: a function of time, continuous, calibrated, without spikes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from math import log

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.calendar import previous_trading_day, trading_day
from trading.sim.path import CLAMP, MINUTES, Index, PricePath
from trading.sim.timebase import cme_equity_open

NDX = Index("NDX", 25000.0, 0.014)


@settings(max_examples=30)
@given(st.dates(min_value=date(2020, 1, 2), max_value=date(2040, 12, 1)))
def test_the_session_mask_is_the_cme_rule_minute_by_minute(d: date) -> None:
    day = PricePath(7, NDX).day(d)
    midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
    expected = [cme_equity_open(midnight + timedelta(minutes=k)) for k in range(MINUTES)]
    assert day.open.tolist() == expected


@settings(max_examples=30)
@given(st.dates(min_value=date(2020, 1, 2), max_value=date(2040, 12, 1)), st.integers(0, 2**16))
def test_bars_are_ordered_and_continuous(d: date, seed: int) -> None:
    path = PricePath(seed, NDX)
    day = path.day(d)
    assert (day.low <= np.minimum(day.o, day.c)).all() and (np.maximum(day.o, day.c) <= day.h).all()
    assert np.allclose(day.o[1:], day.c[:-1])  # a minute opens where the last one closed
    assert np.isclose(path.day(d + timedelta(days=1)).o[0], day.c[-1])  # and across midnight
    assert (day.v > 0).all()


def test_the_same_seed_gives_the_same_market_and_another_seed_another() -> None:
    d = date(2026, 2, 10)
    a, b, c = PricePath(7, NDX).day(d), PricePath(7, NDX).day(d), PricePath(8, NDX).day(d)
    assert np.array_equal(a.c, b.c) and not np.array_equal(a.c, c.c)


def test_no_minute_moves_more_than_the_clamp_allows() -> None:
    path = PricePath(7, NDX)
    worst = 0.0
    for i in range(120):
        day = path.day(date(2026, 1, 1) + timedelta(days=i))
        worst = max(worst, float(np.abs(np.diff(np.log(np.concatenate((day.o[:1], day.c))))).max()))
    # the busiest minute's standard deviation is at most 1.35/avg-weight of daily_vol/sqrt(1440), times the
    # clamp, plus the bridge's correction: a loose bound that a spike of hundreds of points would break
    bound = CLAMP * NDX.daily_vol * 1.35 / 0.75 / np.sqrt(MINUTES) * 1.5
    assert worst < bound


def test_overnight_ranges_look_like_the_index_futures() -> None:
    """Over 200 trading days: a typical Nasdaq overnight range under 2 % of the price, none over 5 %."""
    path = PricePath(7, NDX)
    d, ranges = date(2026, 6, 1), []
    for _ in range(200):
        d = previous_trading_day(d)
        td = trading_day(d)
        lo, hi = float("inf"), 0.0
        t = td.window_start
        while t < td.window_end:
            _, h, low, _ = path.bar(t)
            hi, lo = max(hi, h), min(lo, low)
            t += timedelta(minutes=1)
        ranges.append(log(hi / lo))
    assert 0.004 < float(np.median(ranges)) < 0.02
    assert max(ranges) < 0.05
