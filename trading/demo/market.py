"""The demo's market: seeded, and scripted enough that the day really breaks out.

- `history`: 1-minute bars for the weeks before the demo day (every minute the calendar says CME
  Globex is open), a seeded random walk: ATRD gets its 15 sessions.
- `demo_day`: the overnight window (a seeded, mean-reverting walk: a clear range), then the regular
  session: MNQ opens inside its range, breaks above the overnight high within minutes, gains more
  than the breakeven distance and holds there until the flatten; MES stays inside its range.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from trading.calendar import TradingDay, cme_sessions, is_market_open, to_ny
from trading.domain import Bar

TICK = 0.25
START = {"MNQ": 21000.0, "MES": 6000.0}
SIGMA = {"MNQ": 3.0, "MES": 0.75}  # points per minute, history


def _snap(x: float) -> float:
    return round(x / TICK) * TICK


def _bar(cid: str, t: datetime, o: float, c: float, rng: random.Random, wick: float) -> Bar:
    hi = _snap(max(o, c) + abs(rng.gauss(0, wick)))
    lo = _snap(min(o, c) - abs(rng.gauss(0, wick)))
    return Bar(cid, "1m", t, o, hi, lo, c, float(rng.randint(20, 400)))


def history(symbol: str, cid: str, start: datetime, end: datetime, seed: int) -> list[Bar]:
    rng = random.Random(f"{seed}-{symbol}-history")
    price, sigma = START[symbol], SIGMA[symbol]
    out: list[Bar] = []
    for session in cme_sessions(to_ny(start).date(), to_ny(end).date() + timedelta(days=1)):
        t = max(session.open, start.replace(second=0, microsecond=0))
        close = min(session.close, end)
        while t < close:
            c = _snap(price + rng.gauss(0, sigma) + (START[symbol] - price) * 0.002)
            out.append(_bar(cid, t, price, c, rng, sigma / 2))
            price = c
            t += timedelta(minutes=1)
    return out


def demo_day(symbol: str, cid: str, day: TradingDay, start_price: float, seed: int) -> list[Bar]:
    """Every 1-minute bar from the window start to the NYSE close of `day`."""
    rng = random.Random(f"{seed}-{symbol}-day")
    sigma = SIGMA[symbol] * 0.6
    base = start_price
    price = base
    out: list[Bar] = []
    t = day.window_start
    while t < day.window_end:
        if is_market_open(t):
            c = _snap(price + rng.gauss(0, sigma) + (base - price) * 0.02)
            out.append(_bar(cid, t, price, c, rng, sigma / 3))
            price = c
        t += timedelta(minutes=1)
    onh = max(b.high for b in out)
    onl = min(b.low for b in out)
    mid = _snap((onh + onl) / 2)
    breakout = symbol == "MNQ"
    rth_minutes = int((day.rth_close - day.rth_open) / timedelta(minutes=1))
    price = _snap(min(max(price, onl + 4 * TICK), onh - 4 * TICK))  # open inside the range
    for i in range(rth_minutes):
        t = day.rth_open + timedelta(minutes=i)
        if breakout:
            # hover near the open, run up through the high to +30 points by minute 15, then hold above +20
            if i < 4:
                target = price
            elif i < 15:
                target = price + (onh + 30 - price) / (15 - i)
            else:
                target = onh + 27 + rng.uniform(-4, 4)
            c = _snap(target + rng.gauss(0, 0.5))
            o = price
            lo_floor = onh + 18 if i >= 15 else onl + TICK
            bar = Bar(cid, "1m", t, o, _snap(max(o, c) + 0.5), _snap(max(min(o, c) - 0.5, lo_floor)), c, 100.0)
        else:
            c = _snap(min(max(mid + rng.gauss(0, SIGMA[symbol]), onl + 4 * TICK), onh - 4 * TICK))
            o = price
            hi = min(_snap(max(o, c) + TICK), onh - TICK)
            lo = max(_snap(min(o, c) - TICK), onl + TICK)
            bar = Bar(cid, "1m", t, o, hi, lo, c, 100.0)
        out.append(bar)
        price = c
    return out
