"""Backtest runner: fees, kill-switch trips, and the result's bookkeeping."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from tests.support.scenario_days import Scenario, build
from trading.backtest.runner import Backtest
from trading.config import BacktestSettings, OvernightRangeSettings, RiskSettings
from trading.risk import KillMode
from trading.strategies.overnight_range import OvernightRange

D = date(2025, 6, 11)
CONFIG = OvernightRangeSettings(symbols=("MNQ",))
LONG_DAY = {
    time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),
    time(10, 30): (20100.0, 20131.0, 20100.0, 20120.0),
}


def test_fees_per_contract_per_side() -> None:
    bt = Backtest(lambda ctx: OvernightRange(CONFIG, ctx), build(Scenario(D, rth=LONG_DAY)),
                  settings=BacktestSettings(fees_per_contract_side=Decimal("0.37")))  # fmt: skip
    r = bt.run(D, D)
    assert r.trades[0]["pnl"] == "160.00" and r.trades[0]["fees"] == "0.74"
    assert r.net_pnl == Decimal("159.26") and r.fees == Decimal("0.74")
    assert r.equity[-1][1] == Decimal("50159.26")


def test_daily_loss_limit_trips_the_kill_switch_and_flattens() -> None:
    script = {
        time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),  # long 20050.25
        # close 20042: open loss 8.25 pts = 33 ticks = $16.50 >= the $10 limit (SL 20040.25 not reached).
        time(9, 50): (20058.0, 20058.0, 20042.0, 20042.0),
    }
    risk = RiskSettings(daily_loss_limit=Decimal("10"))
    bt = Backtest(lambda ctx: OvernightRange(CONFIG, ctx), build(Scenario(D, rth=script)), risk=risk)
    r = bt.run(D, D)
    assert bt.kill_mode is KillMode.HALTED
    assert [(f["time"], f["side"], f["price"], f["reason"]) for f in r.fills] == [
        ("2025-06-11T13:45:00+00:00", "buy", "20050.25", "overnight high breakout"),
        (
            "2025-06-11T13:51:00+00:00",
            "sell",
            "20042.00",
            "kill switch: daily loss limit hit: today's P&L -16.50 <= -10",
        ),
    ]
    cancelled = [o["customTag"] for o in r.orders if o["action"] == "cancelled"]
    assert cancelled[-2:] == ["overnight_range:MNQ:long:2025-06-11:sl", "overnight_range:MNQ:long:2025-06-11:tp"]
    assert r.trades[0]["pnl"] == "-16.50"
    assert any(n["kind"] == "risk" for n in r.notifications) is False  # the flatten itself is never refused


def test_risk_refusal_is_recorded_with_its_reason() -> None:
    risk = RiskSettings(trading_start=time(9, 31))  # the 09:30 entries fall outside trading hours
    bt = Backtest(lambda ctx: OvernightRange(CONFIG, ctx), build(Scenario(D)), risk=risk)
    r = bt.run(D, D)
    assert [o["action"] for o in r.orders] == ["refused", "refused"]
    assert "outside trading hours (09:31-15:55" in r.orders[0]["reason"]
    assert r.days[0]["sides"]["buy"]["status"] == "refused"
    assert [n["kind"] for n in r.notifications].count("risk") == 2
