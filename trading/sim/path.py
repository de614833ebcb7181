"""The simulated market's price as a function of time: the same minute always has the same bar.

Why a function and not a running random walk: history is asked for at any moment (the simulator's
warm-up, `tradebot bars backfill --sim` run twice a day apart, a paper engine that starts while the
simulated clock is already running), and every answer must agree with every other and with the
prints the live market makes. A walk that starts from "now" gives each caller a different past; two
backfills stitched together show a jump of hundreds of points where they meet.

The model, per underlying index (MNQ and NQ share one path, MES and ES another: a micro tracks its mini):
- Daily log returns from one seeded stream, `daily_vol` standard deviation (calibrated per index
  from typical realised volatility), with a weak pull back towards the anchor price so the level stays
  in a sane band over years.
- Within a UTC day, 1440 one-minute moves from a stream seeded by (seed, index, day), scaled by the
  time of day in New York (quiet overnight, busier in the cash session, as index futures trade), each
  clamped at 4 standard deviations (no spikes), then bridged so the day ends exactly at its daily
  level.
- A bar's high and low add small wicks beyond its open and close (clamped as well).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from math import sqrt

import numpy as np
import numpy.typing as npt

from trading.sim.timebase import ET

EPOCH = date(2020, 1, 1)  # day 0 of every path: the anchor price
YEARS = 40  # daily levels are drawn for EPOCH .. EPOCH + YEARS
MINUTES = 1440
TRADING_MINUTES = 1380  # a CME equity session: 23 hours
REVERSION = 0.01  # per day, of the log distance from the anchor
CLAMP = 4.0  # standard deviations a minute's move (or a wick) may reach
WICK = 0.35  # a wick's standard deviation, in minute standard deviations
# How much of a day's variance each UTC weekday carries: Saturday is closed, Sunday trades from the
# 18:00 ET reopen only, so a weekend gap is about one quiet day's move, not two days' more.
WEEKDAY_SCALE = (1.0, 1.0, 1.0, 1.0, 1.0, 0.15, 0.45)


def _session_weight(ny_minute: int) -> float:
    """Relative volatility by New York time of day: the cash session is the busiest, the overnight
    quieter, the 17:00-18:00 halt still (the path moves on; no bar prints then)."""
    hour = ny_minute // 60
    if 9 * 60 + 30 <= ny_minute < 16 * 60:
        return 1.35
    if hour == 16:
        return 0.8
    if hour == 17:
        return 0.3
    return 0.6


@dataclass(frozen=True, slots=True)
class Index:
    """One underlying: its anchor price (at EPOCH) and its daily volatility (fraction of price)."""

    name: str
    anchor: float
    daily_vol: float


class PricePath:
    """Prices of one index over time; deterministic in (seed, index)."""

    def __init__(self, seed: int, index: Index) -> None:
        self.index = index
        self._code = zlib.crc32(index.name.encode())
        self._seed = seed
        daily = np.random.default_rng([seed, self._code]).standard_normal(YEARS * 366)
        levels = np.empty(len(daily) + 1)
        levels[0] = 0.0
        for i, z in enumerate(np.clip(daily, -CLAMP, CLAMP)):
            scale = WEEKDAY_SCALE[(EPOCH + timedelta(days=i)).weekday()]
            levels[i + 1] = levels[i] * (1 - REVERSION) + index.daily_vol * scale * float(z)
        self._levels = levels  # log price relative to the anchor at 00:00 UTC of EPOCH + i days

    def _day_index(self, d: date) -> int:
        i = (d - EPOCH).days
        if not 0 <= i < len(self._levels) - 1:
            raise ValueError(f"{d} is outside the simulated market's years ({EPOCH} + {YEARS} years)")
        return i

    @lru_cache(maxsize=64)  # noqa: B019  (a path lives as long as its simulator; days are re-read often)
    def day(self, d: date) -> DayBars:
        """The 1440 one-minute bars of a UTC day (prices, before any tick grid), and which minutes the
        CME equity session is open."""
        i = self._day_index(d)
        start, end = float(self._levels[i]), float(self._levels[i + 1])
        midnight = datetime.combine(d, datetime.min.time(), UTC)
        ny_minute, ny_weekday = _new_york(midnight)
        weights = np.array([_session_weight(int(m)) for m in ny_minute])
        sigma = self.index.daily_vol / sqrt(float((weights**2).sum())) * weights  # the day's variance is daily_vol²
        rng = np.random.default_rng([self._seed, self._code, d.toordinal()])
        moves = np.clip(rng.standard_normal(MINUTES), -CLAMP, CLAMP) * sigma
        walk = np.concatenate(([0.0], np.cumsum(moves)))
        share = np.concatenate(([0.0], np.cumsum(sigma**2))) / float((sigma**2).sum())
        path = start + walk - share * (walk[-1] - (end - start))  # ends exactly at the next day's level
        up = np.abs(np.clip(rng.standard_normal(MINUTES), -CLAMP, CLAMP)) * sigma * WICK
        down = np.abs(np.clip(rng.standard_normal(MINUTES), -CLAMP, CLAMP)) * sigma * WICK
        o, c = path[:-1], path[1:]
        a = self.index.anchor
        volume = (rng.integers(20, 200, MINUTES) * weights * 2).astype(np.int64)
        return DayBars(
            o=a * np.exp(o),
            h=a * np.exp(np.maximum(o, c) + up),
            low=a * np.exp(np.minimum(o, c) - down),
            c=a * np.exp(c),
            v=volume,
            open=_session_open(ny_minute, ny_weekday),
        )

    def bar(self, start: datetime) -> tuple[float, float, float, float]:
        """Open, high, low and close of the minute that starts at `start` (aware, on the minute)."""
        utc = start.astimezone(UTC)
        bars, k = self.day(utc.date()), utc.hour * 60 + utc.minute
        return float(bars.o[k]), float(bars.h[k]), float(bars.low[k]), float(bars.c[k])


@dataclass(frozen=True, slots=True)
class DayBars:
    """One UTC day's minutes, as columns indexed by minute of the day (0 = 00:00 UTC)."""

    o: npt.NDArray[np.float64]
    h: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    c: npt.NDArray[np.float64]
    v: npt.NDArray[np.int64]
    open: npt.NDArray[np.bool_]  # the CME equity session trades in this minute


def _new_york(midnight: datetime) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """New York minute of the day and weekday of each minute of the UTC day that starts at `midnight`
    (minute by minute on the two days a year the offset changes, by column on the others)."""
    first = midnight.astimezone(ET)
    last = (midnight + timedelta(minutes=MINUTES - 1)).astimezone(ET)
    if first.utcoffset() != last.utcoffset():  # a DST change inside this UTC day
        stamps = [(midnight + timedelta(minutes=k)).astimezone(ET) for k in range(MINUTES)]
        return (
            np.array([t.hour * 60 + t.minute for t in stamps], dtype=np.int64),
            np.array([t.weekday() for t in stamps], dtype=np.int64),
        )
    start = first.hour * 60 + first.minute
    k = np.arange(MINUTES, dtype=np.int64) + start
    return k % MINUTES, (first.weekday() + k // MINUTES) % 7


def _session_open(ny_minute: npt.NDArray[np.int64], weekday: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """CME Globex equity hours for each minute (the rule of trading/sim/timebase.py `cme_equity_open`, by
    column): Sunday 18:00 ET to Friday 17:00 ET, halted 17:00-18:00 daily."""
    hour = ny_minute // 60
    closed = (weekday == 5) | ((weekday == 6) & (hour < 18)) | ((weekday == 4) & (hour >= 17)) | (hour == 17)
    return np.asarray(~closed, dtype=np.bool_)
