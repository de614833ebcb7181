"""The second strategy proves the interface is general: same context, same backtest."""

from __future__ import annotations

from datetime import date, time

from tests.support.scenario_days import Scenario, build
from trading.backtest.runner import Backtest
from trading.config import EmaCrossSettings, Settings
from trading.strategies import STRATEGIES, create
from trading.strategies.ema_cross import EmaCross

D = date(2025, 6, 11)


def run(s: Scenario, **cfg: object) -> Backtest:
    config = EmaCrossSettings(symbols=("MES",), **cfg)
    bt = Backtest(lambda ctx: EmaCross(config, ctx), build(s))
    bt.run(s.day, s.day)
    return bt


def test_cross_above_buys_at_the_next_open_with_a_bracket() -> None:
    # History closes are all 20000: both EMAs 20000, not above. From 09:50 closes are 20010; the 5-minute
    # close at 09:55 lifts the fast EMA above the slow one -> market buy, filled at the 09:55 open 20010.
    s = Scenario(D, symbol="MES", rth={time(9, 50): (20010.0, 20010.0, 20010.0, 20010.0),
                                       time(10, 30): (20010.0, 20031.0, 20010.0, 20025.0)})  # fmt: skip
    r = run(s).result
    assert [(f["time"], f["side"], f["price"], f["customTag"]) for f in r.fills] == [
        ("2025-06-11T13:55:00+00:00", "buy", "20010.00", "ema_cross:MES:2025-06-11:1"),
        ("2025-06-11T14:30:00+00:00", "sell", "20030.00", "ema_cross:MES:2025-06-11:1:tp"),  # +80 ticks
    ]
    assert r.trades[0]["pnl"] == "100.00"  # 80 ticks x $1.25


def test_no_cross_no_trade_and_entry_window_respected() -> None:
    assert run(Scenario(D, symbol="MES")).result.fills == []
    s = Scenario(D, symbol="MES", rth={time(9, 35): (20010.0, 20010.0, 20010.0, 20010.0)})
    assert run(s).result.fills == []  # the cross at 09:40 is before first_entry_time 09:45


def test_flat_at_the_flatten_time() -> None:
    s = Scenario(D, symbol="MES", rth={time(9, 50): (20010.0, 20010.0, 20010.0, 20010.0)})
    r = run(s, target_ticks=400).result
    assert r.fills[-1]["time"] == "2025-06-11T19:55:00+00:00" and r.fills[-1]["customTag"].endswith(
        ":flatten:2025-06-11"
    )
    assert r.trades[0]["pnl"] == "0.00"


def test_registry_builds_from_settings() -> None:
    assert set(STRATEGIES) == {"overnight_range", "ema_cross"}
    s = Scenario(D, symbol="MES")
    bt = Backtest(lambda ctx: create("ema_cross", Settings().strategies.model_copy(
        update={"ema_cross": EmaCrossSettings(symbols=("MES",))}), ctx), build(s))  # fmt: skip
    assert bt.strategy.name == "ema_cross" and bt.strategy.symbols == ("MES",)
