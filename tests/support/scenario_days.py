"""Generated 1-minute bars for the scenario days the strategy spec asks to prove.

Every scenario has the same hand-checkable shape, so the tests can write their expectations down
by hand:
- history: the CME sessions before day D (from the calendar: holidays have no bars). Each is flat
  at `base` except a +20 spike one hour after the reopen and a -20 spike two hours after it, so
  every daily bar has high - low = 40 and close = base: TR = 40, ATRD = 40 (target 2 x 40 = 80 pts).
- D's overnight window: flat at `base`, one bar reaching `onh` and one reaching `onl`.
- [08:15, 09:30): the first minute of every five has high = base + 4 and low = base - 4, so every
  five-minute bar has TR = 8 and ATR5 = 8 (stop 1.25 x 8 = 10 pts).
- RTH: scripted bars at New York times; every other minute is flat at the previous bar's close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from trading import calendar as cal
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import NS, ns

OHLC = tuple[float, float, float, float]
MINUTE_NS = 60 * NS


@dataclass
class Scenario:
    day: date
    base: float = 20000.0
    onh: float = 20050.0
    onh_at: datetime | None = None  # default 02:00 New York on D
    onl: float = 19950.0
    onl_at: datetime | None = None  # default 03:00 New York on D
    atr5_half: float = 4.0
    history_sessions: int = 20
    history_spike: float = 20.0
    rth: Mapping[time, OHLC] = field(default_factory=dict)
    missing: Sequence[tuple[datetime, datetime]] = ()  # [start, end) ranges without bars (UTC)
    symbol: str = "MNQ"


def _session_bars(start: datetime, end: datetime) -> npt.NDArray[np.int64]:
    return np.arange(ns(start), ns(end), MINUTE_NS, dtype=np.int64)


def build(s: Scenario, extra_days_after: int = 0) -> dict[str, BarArrays]:
    """Bars for the history sessions, D's session and `extra_days_after` further flat sessions."""
    sessions = cal.sessions_before(s.day, s.history_sessions)
    d_session = cal.cme_session(s.day)
    assert d_session is not None, f"{s.day} has no CME session"
    later = cal.cme_sessions(s.day + timedelta(days=1), s.day + timedelta(days=7 + extra_days_after * 2))[
        :extra_days_after
    ]
    ts_parts: list[npt.NDArray[np.int64]] = []
    o: list[npt.NDArray[np.float64]] = []
    h: list[npt.NDArray[np.float64]] = []
    lo: list[npt.NDArray[np.float64]] = []
    c: list[npt.NDArray[np.float64]] = []
    for sess in sessions:
        ts = _session_bars(sess.open, sess.close)
        hi = np.full(len(ts), s.base)
        low = np.full(len(ts), s.base)
        hi[60] += s.history_spike
        low[120] -= s.history_spike
        ts_parts.append(ts)
        o.append(np.full(len(ts), s.base))
        h.append(hi)
        lo.append(low)
        c.append(np.full(len(ts), s.base))
    # D's session: overnight, the ATR5 pattern, then the scripted RTH.
    td = cal.trading_day(s.day)
    ts = _session_bars(d_session.open, d_session.close)
    op, hi, low, cl = (np.full(len(ts), s.base) for _ in range(4))
    onh_at = s.onh_at or cal.ny(s.day, time(2, 0))
    onl_at = s.onl_at or cal.ny(s.day, time(3, 0))
    for at, value, arr in ((onh_at, s.onh, hi), (onl_at, s.onl, low)):
        i = int(np.searchsorted(ts, ns(at)))
        assert ts[i] == ns(at), f"{at} is not a minute of D's session"
        arr[i] = value
    t = cal.ny(s.day, time(8, 15))
    while t < td.window_end:
        i = int(np.searchsorted(ts, ns(t)))
        hi[i] = max(hi[i], s.base + s.atr5_half)
        low[i] = min(low[i], s.base - s.atr5_half)
        t += timedelta(minutes=5)
    last = s.base
    first_rth = int(np.searchsorted(ts, ns(td.rth_open)))
    scripted = {ns(cal.ny(s.day, k)): v for k, v in s.rth.items()}
    for i in range(first_rth, len(ts)):
        bar = scripted.get(int(ts[i]))
        if bar is None:
            bar = (last, last, last, last)
        op[i], hi[i], low[i], cl[i] = bar
        last = bar[3]
    ts_parts.append(ts)
    o.append(op)
    h.append(hi)
    lo.append(low)
    c.append(cl)
    for sess in later:
        ts = _session_bars(sess.open, sess.close)
        ts_parts.append(ts)
        for col in (o, h, lo, c):
            col.append(np.full(len(ts), last))
    all_ts = np.concatenate(ts_parts)
    cols = [np.concatenate(x) for x in (o, h, lo, c)]
    keep = np.ones(len(all_ts), dtype=bool)
    for start, end in s.missing:
        keep &= ~((all_ts >= ns(start)) & (all_ts < ns(end)))
    return {
        s.symbol: BarArrays(
            all_ts[keep], cols[0][keep], cols[1][keep], cols[2][keep], cols[3][keep], np.ones(int(keep.sum()))
        )
    }


def random_walk_year(
    symbols: Sequence[str], start: date, end: date, seed: int = 7, base: float = 20000.0
) -> dict[str, BarArrays]:
    """Synthetic 1-minute bars on every minute Globex is open, for the speed benchmark."""
    rng = np.random.default_rng(seed)
    sessions = cal.cme_sessions(start - timedelta(days=40), end)
    ts = np.concatenate([_session_bars(x.open, x.close) for x in sessions])
    out: dict[str, BarArrays] = {}
    for k, sym in enumerate(symbols):
        steps = rng.integers(-8, 9, size=len(ts)) * 0.25
        close = base * (1 + 0.1 * k) + np.cumsum(steps)
        open_ = np.r_[close[0], close[:-1]]
        wick = rng.integers(0, 8, size=(2, len(ts))) * 0.25
        high = np.maximum(open_, close) + wick[0]
        low = np.minimum(open_, close) - wick[1]
        out[sym] = BarArrays(ts.copy(), open_, high, low, close, np.ones(len(ts)))
    return out
