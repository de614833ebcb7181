"""A backtest's money: the FIFO ledger (exact: ticks x tick value x quantity per lot, fees per contract
per side) and the result (orders, fills, trades, days, equity curve, summary, JSON, chart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading.domain import Contract, Side


@dataclass
class Lot:
    price: Decimal
    qty: int  # signed


@dataclass
class Ledger:
    contracts: dict[str, Contract]
    starting_balance: Decimal
    fees_per_side: Decimal
    lots: dict[str, list[Lot]] = field(default_factory=dict)
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    day_start_balance: Decimal = Decimal(0)

    @property
    def balance(self) -> Decimal:
        return self.starting_balance + self.realized - self.fees

    def position(self, contract_id: str) -> int:
        return sum(lot.qty for lot in self.lots.get(contract_id, []))

    def apply(self, contract_id: str, side: Side, qty: int, price: Decimal) -> tuple[Decimal, int]:
        """Book a fill; returns (realized P&L, ticks) of the part that closed lots (FIFO)."""
        c = self.contracts[contract_id]
        self.fees += self.fees_per_side * qty
        lots = self.lots.setdefault(contract_id, [])
        signed = side.sign * qty
        pnl, ticks = Decimal(0), 0
        while signed and lots and (lots[0].qty > 0) != (signed > 0):
            lot = lots[0]
            n = min(abs(lot.qty), abs(signed))
            long = lot.qty > 0
            t = c.ticks(price - lot.price) if long else c.ticks(lot.price - price)
            ticks += t * n
            pnl += t * c.tick_value * n
            lot.qty -= n if long else -n
            signed += n if signed < 0 else -n
            if lot.qty == 0:
                lots.pop(0)
        if signed:
            lots.append(Lot(price, signed))
        self.realized += pnl
        return pnl, ticks

    def unrealized(self, contract_id: str, mark: Decimal) -> Decimal:
        c = self.contracts[contract_id]
        return sum(
            (
                (c.ticks(mark - lot.price) if lot.qty > 0 else c.ticks(lot.price - mark)) * c.tick_value * abs(lot.qty)
                for lot in self.lots.get(contract_id, [])
            ),
            Decimal(0),
        )


@dataclass
class BacktestResult:
    strategy: str
    start: date
    end: date
    starting_balance: Decimal
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    _days: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _notifications: list[dict[str, Any]] = field(default_factory=list, repr=False)
    equity: list[tuple[datetime, Decimal]] = field(default_factory=list)
    fees: Decimal = Decimal(0)
    # Builds `days` and `notifications` when first read: the Rust loop (native.py) leaves its notices
    # as they came, a year's range cards costing more than its loop; the optimizer never reads them.
    deferred: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def _settle(self) -> None:
        if self.deferred is not None:
            build, self.deferred = self.deferred, None
            build()

    @property
    def days(self) -> list[dict[str, Any]]:
        """One row per day and symbol: the open card's date, symbol, levels, filters, blocked, sides."""
        self._settle()
        return self._days

    @property
    def notifications(self) -> list[dict[str, Any]]:
        self._settle()
        return self._notifications

    @property
    def net_pnl(self) -> Decimal:
        return sum((Decimal(t["pnl"]) for t in self.trades), Decimal(0)) - self.fees

    @property
    def win_rate(self) -> float:
        return sum(1 for t in self.trades if Decimal(t["pnl"]) > 0) / len(self.trades) if self.trades else 0.0

    @property
    def max_drawdown(self) -> Decimal:
        peak, worst = self.starting_balance, Decimal(0)
        for _, eq in self.equity:
            peak = max(peak, eq)
            worst = max(worst, peak - eq)
        return worst

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "trades": len(self.trades),
            "net_pnl": str(self.net_pnl),
            "fees": str(self.fees),
            "win_rate": round(self.win_rate, 4),
            "max_drawdown": str(self.max_drawdown),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "trades": self.trades,
            "orders": self.orders,
            "fills": self.fills,
            "days": self.days,
            "equity": [{"time": t.isoformat(), "equity": str(e)} for t, e in self.equity],
        }

    def chart(self, path: Path | str) -> None:
        """The cumulative net P&L of the trades on a New York time axis (trading/charts: the one chart
        module), written in the format the file name asks for (png, svg, pdf ...)."""
        from trading.charts.pnl import pnl_figure
        from trading.charts.style import RENDER

        points = [(datetime.fromisoformat(t["exit_time"]), Decimal(t["pnl"]) - Decimal(t["fees"])) for t in self.trades]
        title = f"{self.strategy} {self.start} to {self.end}: net ${self.net_pnl:,.2f} over {len(self.trades)} trades"
        with RENDER:
            pnl_figure(title, points).savefig(path, dpi=100, bbox_inches="tight")
