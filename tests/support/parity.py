"""Run the overnight range through the backtest with both implementations and demand the same day.

`run_both` backtests the same bars once with `impl = "python"` and once with `impl = "rust"` and
asserts that everything the backtest writes is identical: the --json document byte for byte (orders,
fills, trades, per-day levels and filter verdicts, every notification, the report) and the strategy's
saved state at the end. The Rust strategy runs twice: in the Rust backtest loop (trading/backtest/
native.py) and in the Python loop (`native=False`); all three runs must agree. It returns the Rust
loop's run, for the caller's own hand-worked expectations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from trading.backtest.ledger import BacktestResult
from trading.backtest.report import report
from trading.backtest.runner import Backtest, BacktestContext
from trading.config import OvernightRangeSettings
from trading.marketdata.aggregation import BarArrays
from trading.strategies.native import RustOvernightRange
from trading.strategies.overnight_range import OvernightRange

IMPLS = ("python", "rust")


def json_text(result: BacktestResult) -> str:
    """The `tradebot backtest --json` document of a result."""
    return json.dumps({**result.to_json(), "report": report(result)}, indent=2, default=str)


Wrap = Callable[[BacktestContext], Any]  # a test's context wrapper (e.g. an account that has lost money)


def run_one(config: OvernightRangeSettings, bars: Mapping[str, BarArrays], start: date, end: date,
            wrap: Wrap | None = None, **kwargs: Any) -> tuple[BacktestResult, Backtest]:  # fmt: skip
    bt = Backtest(lambda ctx: OvernightRange(config, wrap(ctx) if wrap else ctx), bars, **kwargs)
    want = RustOvernightRange if config.impl == "rust" else OvernightRange
    assert type(bt.strategy) is want, f"impl {config.impl} built {type(bt.strategy).__name__}"
    return bt.run(start, end), bt


def run_both(config: OvernightRangeSettings, bars: Mapping[str, BarArrays], start: date, end: date,
             wrap: Wrap | None = None, **kwargs: Any) -> tuple[BacktestResult, Backtest]:  # fmt: skip
    py, py_bt = run_one(config.model_copy(update={"impl": "python"}), bars, start, end, wrap, **kwargs)
    rust = config.model_copy(update={"impl": "rust"})
    rs, rs_bt = run_one(rust, bars, start, end, wrap, **kwargs)
    runs = [(rs, rs_bt)]
    if rs_bt.loop == "rust":  # the Rust loop ran: the Rust strategy in the Python loop must agree too
        runs.append(run_one(rust, bars, start, end, wrap, **{**kwargs, "native": False}))
    for r, bt in runs:
        assert r.orders == py.orders
        assert r.fills == py.fills
        assert r.days == py.days
        assert r.notifications == py.notifications
        assert json_text(r) == json_text(py)
        assert bt.strategy.on_save() == py_bt.strategy.on_save()
        assert (bt.ledger.balance, bt.ledger.fees, bt.kill_mode) == (py_bt.ledger.balance, py_bt.ledger.fees,
                                                                     py_bt.kill_mode)  # fmt: skip
    return rs, rs_bt
