"""Level and indicator helpers over 1-minute bar arrays: range, ATR, session (daily) bars, EMA.

ATRs are exact `Fraction`s computed from the bars' prices (which sit on the tick grid), so that a
bracket distance that is exactly half a tick rounds the same way everywhere; floats would turn
61.75 into 61.7499... and round it the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np

from trading.calendar import CmeSession
from trading.domain import to_decimal
from trading.marketdata.aggregation import BarArrays, aggregate_bars

NS = 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIVE_MINUTES_NS = 300 * NS


def ns(ts: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (the bar arrays' time unit)."""
    return (ts - EPOCH) // timedelta(microseconds=1) * 1000


def exact(x: float) -> Fraction:
    """A bar price as an exact fraction (its shortest repr is the tick-grid price)."""
    return Fraction(to_decimal(float(x)))


def fraction_to_decimal(x: Fraction, places: int = 6) -> Decimal:
    """For reports: an exact ATR shown with `places` decimals."""
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal(1).scaleb(-places))


def round_half_away(x: Fraction) -> int:
    """Nearest integer, halves away from zero (the spec's bracket-tick rule)."""
    n = abs(x)
    whole = int(n)
    if n - whole >= Fraction(1, 2):
        whole += 1
    return whole if x >= 0 else -whole


def slice_bars(bars: BarArrays, start: datetime, end: datetime) -> BarArrays:
    """Bars with open time in [start, end); `bars` sorted by time."""
    lo = int(np.searchsorted(bars.ts, ns(start), side="left"))
    hi = int(np.searchsorted(bars.ts, ns(end), side="left"))
    return cut(bars, lo, hi)


def cut(bars: BarArrays, lo: int, hi: int) -> BarArrays:
    """Rows [lo, hi) of every column (views, no copy)."""
    return BarArrays(bars.ts[lo:hi], bars.open[lo:hi], bars.high[lo:hi], bars.low[lo:hi], bars.close[lo:hi],
                     bars.volume[lo:hi])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Range:
    high: Decimal
    low: Decimal
    bars: int

    @property
    def size(self) -> Decimal:
        return self.high - self.low


def overnight_range(bars: BarArrays) -> Range | None:
    """High and low of the bars given (already cut to the window), or None without bars."""
    if len(bars.ts) == 0:
        return None
    return Range(to_decimal(float(bars.high.max())), to_decimal(float(bars.low.min())), len(bars.ts))


def true_ranges(high: Sequence[float], low: Sequence[float], close: Sequence[float]) -> list[Decimal]:
    """TR of each bar after the first, each using the previous bar's close. Decimal subtraction of
    tick-grid prices is exact (and much faster than Fraction)."""
    out: list[Decimal] = []
    for i in range(1, len(high)):
        h, lo, pc = to_decimal(float(high[i])), to_decimal(float(low[i])), to_decimal(float(close[i - 1]))
        out.append(max(h - lo, abs(h - pc), abs(lo - pc)))
    return out


def atr(bars: BarArrays, period: int) -> Fraction | None:
    """Simple mean of the true range of the last `period` bars; needs `period + 1` bars."""
    n = len(bars.ts)
    if n < period + 1:
        return None
    tail = slice(n - period - 1, n)
    trs = true_ranges(list(bars.high[tail]), list(bars.low[tail]), list(bars.close[tail]))
    return Fraction(sum(trs, Decimal(0))) / period


def five_minute_bars(one_minute: BarArrays) -> BarArrays:
    """5-minute bars aligned to :00, :05, ... New York time. New York's UTC offset is a whole number
    of hours, so UTC alignment is New York alignment and no offset is needed."""
    return aggregate_bars(one_minute, FIVE_MINUTES_NS, 0)


def session_bars(one_minute: BarArrays, sessions: Sequence[CmeSession]) -> tuple[BarArrays, int]:
    """One bar per CME session from the 1-minute bars in [open, close); sessions without any bar are
    left out. Returns the bars and how many sessions were missing."""
    ts, o, h, lo, c, v = ([] for _ in range(6))
    missing = 0
    for s in sessions:
        part = slice_bars(one_minute, s.open, s.close)
        if len(part.ts) == 0:
            missing += 1
            continue
        ts.append(ns(s.open))
        o.append(float(part.open[0]))
        h.append(float(part.high.max()))
        lo.append(float(part.low.min()))
        c.append(float(part.close[-1]))
        v.append(float(part.volume.sum()))
    return (
        BarArrays(
            np.array(ts, dtype=np.int64),
            np.array(o, dtype=np.float64),
            np.array(h, dtype=np.float64),
            np.array(lo, dtype=np.float64),
            np.array(c, dtype=np.float64),
            np.array(v, dtype=np.float64),
        ),
        missing,
    )


def ema(values: Sequence[float], period: int) -> list[float]:
    """Exponential moving average seeded with the first value (alpha = 2 / (period + 1))."""
    if not values:
        return []
    alpha = 2.0 / (period + 1)
    out = [float(values[0])]
    for x in values[1:]:
        out.append(out[-1] + alpha * (float(x) - out[-1]))
    return out


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
