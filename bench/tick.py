"""Tick → order intent inside the strategy: a quote that arms the overnight range's breakeven goes
through `on_quote` to the context's `modify_stop` (the order it asks for), with the Python and the
Rust implementation, in process (the backtest's context stands in for the engine's; the executor's
own round trip is the `orders` section). Also the common quote: a position open, the breakeven not
reached, nothing to do.

Where this matters: the overnight range's entries are resting stop orders at the broker, so a tick
never has to trigger an entry; the one quote-driven action is the breakeven stop move measured here.
"""

from __future__ import annotations

import time as clock
from datetime import date, time
from decimal import Decimal

from bench.stats import Summary, summarize, table
from tests.support.scenario_days import Scenario, build
from trading.backtest.runner import Backtest
from trading.calendar import ny, trading_day
from trading.config import OvernightRangeSettings
from trading.domain import Bar, Quote
from trading.strategies.base import SessionEvent
from trading.strategies.overnight_range import OvernightRange

D = date(2025, 6, 11)


def _armed(impl: str) -> tuple[Backtest, dict]:  # type: ignore[type-arg]
    """A backtest whose strategy holds a filled long at 20050.25, its breakeven not yet moved."""
    config = OvernightRangeSettings(symbols=("MNQ",), impl=impl)
    bt = Backtest(lambda ctx: OvernightRange(config, ctx), build(Scenario(D)))
    bt.clock = ny(D, time(9, 30))
    bt.strategy.on_session_event(SessionEvent.OPEN, trading_day(D))
    bar = Bar("MNQ", "1m", ny(D, time(9, 31)), 20040.0, 20060.0, 20040.0, 20058.0, 1.0)
    bt.book.process(bt.contracts["MNQ"].id, bar, bt._on_fill)
    bt.clock = ny(D, time(9, 32))
    return bt, bt.strategy.on_save()


def _samples(impl: str, last: Decimal, n: int) -> list[float]:
    bt, saved = _armed(impl)
    cid = bt.contracts["MNQ"].id
    quote = Quote(cid, bt.clock, last=last)
    out: list[float] = []
    for _ in range(n):
        bt.strategy.on_load(saved)
        t0 = clock.perf_counter_ns()
        bt.strategy.on_quote("MNQ", quote)
        out.append(float(clock.perf_counter_ns() - t0))
    return out


def run(quick: bool = False) -> str:
    n = 300 if quick else 2000
    rows: list[Summary] = []
    for impl in ("python", "rust"):
        rows.append(summarize(f"{impl}: quote arms breakeven", _samples(impl, Decimal("20065.25"), n)))
    for impl in ("python", "rust"):
        rows.append(summarize(f"{impl}: quote, nothing to do", _samples(impl, Decimal("20055.00"), n)))
    return table("tick → order intent in the strategy (on_quote → modify_stop)", rows, "python: quote arms breakeven")
