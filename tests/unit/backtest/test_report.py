"""The backtest's results, checked by hand: profit factor, expectancy, win rate, drawdown, exposure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trading.backtest.ledger import BacktestResult
from trading.backtest.report import report, result_lines, results, trade_lines

DAY = "2025-06-11"


def trade(symbol: str, pnl: str, entry: str, exit_: str, fees: str = "0.74", side: str = "buy") -> dict[str, object]:
    return {
        "symbol": symbol, "side": side, "qty": 1, "entry_time": f"{DAY}T{entry}:00-04:00",
        "entry_price": "20050.25", "exit_time": f"{DAY}T{exit_}:00-04:00", "exit_price": "20060",
        "ticks": 39, "pnl": pnl, "fees": fees, "customTag": None, "exit_reason": "target",
    }  # fmt: skip


def test_the_figures_of_three_trades() -> None:
    trades = [
        trade("MNQ", "100", "09:45", "10:45"),  # +99.26 net
        trade("MNQ", "-40", "11:00", "11:30"),  # -40.74
        trade("MES", "-10", "09:31", "09:37", side="sell"),  # -10.74
    ]
    rth = 6.5 * 3600
    mnq = results(trades[:2], rth)
    assert (mnq.gross_profit, mnq.gross_loss, mnq.fees) == (Decimal(100), Decimal(40), Decimal("1.48"))
    assert mnq.profit_factor == Decimal("2.5") and mnq.net == Decimal("58.52")
    assert mnq.expectancy == Decimal("29.26") and mnq.win_rate == 0.5
    assert mnq.max_drawdown == Decimal("40.74")  # from +99.26 down to +58.52
    assert abs(mnq.exposure - 1.5 / 6.5) < 1e-9  # 90 minutes of 390
    everything = results(trades, rth)
    assert everything.trades == 3 and everything.net == Decimal("47.78")
    assert results([trades[0]], rth).profit_factor is None  # no loss: infinite, shown "inf"
    assert results([], rth).expectancy == 0 and results([], rth).win_rate == 0.0


def test_the_report_and_its_lines() -> None:
    r = BacktestResult("overnight_range", date(2025, 6, 11), date(2025, 6, 11), Decimal(50000))
    r.trades = [trade("MNQ", "100", "09:45", "10:45"), trade("MES", "-10", "09:31", "09:37", side="sell")]
    rep = report(r)
    assert set(rep["by_symbol"]) == {"MES", "MNQ"} and rep["total"]["trades"] == 2
    assert rep["by_symbol"]["MNQ"]["profit_factor"] is None and rep["by_symbol"]["MES"]["profit_factor"] == "0.0000"
    lines = result_lines(rep)
    assert lines[0].split() == ["trades", "net", "P&L", "fees", "profit", "factor", "expectancy", "win", "rate",
                                "max", "drawdown", "exposure"]  # fmt: skip
    assert lines[1].startswith("MES") and lines[2].startswith("MNQ") and lines[3].startswith("total")
    assert " inf " in lines[2] + " "
    table = trade_lines(r, {})
    assert table[1].split()[:5] == ["2025-06-11", "09:45", "10:45", "MNQ", "long"]
    assert "short" in table[2] and "-$10.00" in table[2]


@given(st.lists(st.integers(-500, 500), min_size=1, max_size=30))
def test_net_is_the_sum_and_drawdown_is_never_negative(pnls: list[int]) -> None:
    trades = [trade("MNQ", str(p), "10:00", "10:05", fees="0") for p in pnls]
    r = results(trades, 6.5 * 3600)
    assert r.net == sum(pnls) and r.max_drawdown >= 0
    assert r.gross_profit - r.gross_loss == sum(pnls)
    assert r.max_drawdown <= r.gross_loss
