"""What a backtest prints: the trades, one line each in New York time, and the results per symbol and in
total (net P&L, fees, profit factor, expectancy, win rate, max drawdown, exposure).

Definitions (so the figures can be checked by hand):
- net P&L = the trades' P&L minus their fees; gross profit / gross loss = the sum of the winning /
  losing trades' P&L before fees.
- profit factor = gross profit / gross loss ("inf" with no losing trade, "—" with no trade).
- expectancy = net P&L / number of trades (what one trade made on average, after fees).
- win rate = trades with P&L > 0 / trades.
- max drawdown = the largest fall of the cumulative net P&L from its running peak, trade by trade
  (per symbol from that symbol's trades; in total from the account's equity curve).
- exposure = the time a position was open / the regular-hours time of the trading days tested
  (09:30-16:00 ET, or to the early close).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from trading.backtest.ledger import BacktestResult
from trading.calendar import to_ny, trading_day, trading_days
from trading.domain import Contract, money_text, tick_text


@dataclass(frozen=True, slots=True)
class Results:
    trades: int
    net: Decimal
    fees: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    win_rate: float
    max_drawdown: Decimal
    exposure: float

    @property
    def profit_factor(self) -> Decimal | None:
        if self.gross_loss == 0:
            return None
        return self.gross_profit / self.gross_loss

    @property
    def expectancy(self) -> Decimal:
        return self.net / self.trades if self.trades else Decimal(0)

    def as_json(self) -> dict[str, Any]:
        pf = self.profit_factor
        return {
            "trades": self.trades,
            "net_pnl": str(self.net),
            "fees": str(self.fees),
            "gross_profit": str(self.gross_profit),
            "gross_loss": str(self.gross_loss),
            "profit_factor": None if pf is None else str(pf.quantize(Decimal("0.0001"))),
            "expectancy": str(self.expectancy.quantize(Decimal("0.01"))),
            "win_rate": round(self.win_rate, 4),
            "max_drawdown": str(self.max_drawdown),
            "exposure": round(self.exposure, 4),
        }


def rth_seconds(result: BacktestResult) -> float:
    """Regular-hours seconds of the trading days in the backtest's range (the exposure's denominator)."""
    days = (trading_day(d) for d in trading_days(result.start, result.end))
    return sum((d.rth_close - d.rth_open).total_seconds() for d in days)


def results(trades: Sequence[Mapping[str, Any]], rth_s: float, drawdown: Decimal | None = None) -> Results:
    pnl = [Decimal(t["pnl"]) for t in trades]
    fees = sum((Decimal(t["fees"]) for t in trades), Decimal(0))
    net = sum(pnl, Decimal(0)) - fees
    peak = run = worst = Decimal(0)
    for t in sorted(trades, key=lambda t: t["exit_time"]):
        run += Decimal(t["pnl"]) - Decimal(t["fees"])
        peak = max(peak, run)
        worst = max(worst, peak - run)
    held = sum(
        (datetime.fromisoformat(t["exit_time"]) - datetime.fromisoformat(t["entry_time"]) for t in trades),
        timedelta(0),
    ).total_seconds()
    return Results(
        trades=len(trades),
        net=net,
        fees=fees,
        gross_profit=sum((p for p in pnl if p > 0), Decimal(0)),
        gross_loss=-sum((p for p in pnl if p < 0), Decimal(0)),
        win_rate=sum(1 for p in pnl if p > 0) / len(pnl) if pnl else 0.0,
        max_drawdown=worst if drawdown is None else drawdown,
        exposure=held / rth_s if rth_s else 0.0,
    )


def report(result: BacktestResult) -> dict[str, Any]:
    """Per-symbol and total results (the `report` of the --json output)."""
    rth_s = rth_seconds(result)
    symbols = sorted({t["symbol"] for t in result.trades})
    by_symbol = {s: results([t for t in result.trades if t["symbol"] == s], rth_s).as_json() for s in symbols}
    return {"by_symbol": by_symbol, "total": results(result.trades, rth_s, result.max_drawdown).as_json()}


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i >= right_from else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def trade_lines(result: BacktestResult, contracts: Mapping[str, Contract]) -> list[str]:
    """The trades table: times in New York, prices on each contract's tick grid."""
    rows = []
    for t in result.trades:
        c = contracts.get(t["symbol"])

        def px(v: str, c: Contract | None = c) -> str:
            return tick_text(Decimal(v), c.tick_size) if c is not None else v

        rows.append([
            f"{to_ny(datetime.fromisoformat(t['entry_time'])):%Y-%m-%d %H:%M}",
            f"{to_ny(datetime.fromisoformat(t['exit_time'])):%H:%M}",
            t["symbol"], "long" if t["side"] == "buy" else "short", str(t["qty"]),
            px(t["entry_price"]), px(t["exit_price"]), str(t["ticks"]),
            money_text(Decimal(t["pnl"])), money_text(Decimal(t["fees"])), str(t.get("exit_reason") or ""),
        ])  # fmt: skip
    headers = [
        "entry ET",
        "exit ET",
        "symbol",
        "side",
        "qty",
        "entry price",
        "exit price",
        "ticks",
        "P&L",
        "fees",
        "exit by",
    ]
    return _table(headers, rows, right_from=4) if rows else ["no trades"]


def result_lines(rep: Mapping[str, Any]) -> list[str]:
    """Per-symbol rows and the total, one line each."""
    headers = ["", "trades", "net P&L", "fees", "profit factor", "expectancy", "win rate", "max drawdown", "exposure"]

    def row(name: str, r: Mapping[str, Any]) -> list[str]:
        pf = r["profit_factor"]
        shown_pf = ("inf" if r["trades"] else "—") if pf is None else f"{Decimal(pf):.2f}"
        return [
            name, str(r["trades"]), money_text(Decimal(r["net_pnl"])), money_text(Decimal(r["fees"])), shown_pf,
            money_text(Decimal(r["expectancy"])), _pct(r["win_rate"]), money_text(Decimal(r["max_drawdown"])),
            _pct(r["exposure"]),
        ]  # fmt: skip

    rows = [row(s, r) for s, r in rep["by_symbol"].items()]
    rows.append(row("total", rep["total"]))
    return _table(headers, rows, right_from=1)
