"""Hypothesis strategies for random trading days: a random walk of RTH bars at random minutes."""

from __future__ import annotations

from datetime import time

from hypothesis import strategies as st

from tests.support.scenario_days import OHLC


@st.composite
def rth_script(draw: st.DrawFn, base: float, max_bars: int = 25) -> dict[time, OHLC]:
    """Up to `max_bars` RTH bars (New York open time -> OHLC) walking from `base` on the tick grid."""
    minutes = draw(st.lists(st.integers(0, 389), min_size=0, max_size=max_bars, unique=True))
    price = base
    out: dict[time, OHLC] = {}
    for m in sorted(minutes):
        step = draw(st.integers(-160, 160)) * 0.25
        up, down = draw(st.integers(0, 120)) * 0.25, draw(st.integers(0, 120)) * 0.25
        o = price + draw(st.integers(-40, 40)) * 0.25
        c = o + step
        out[time(9 + (30 + m) // 60, (30 + m) % 60)] = (o, max(o, c) + up, min(o, c) - down, c)
        price = c
    return out
