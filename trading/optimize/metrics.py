"""What a parameter set scored: trades, net P&L, profit factor, max drawdown and return / drawdown, computed
by the backtest report's own definitions (`trading/backtest/report.py`), so the full-range figures are
the ones `tradebot backtest` prints in its total row; and how sets are ranked by a chosen metric.

Ranking (best first): net P&L and profit factor and return / drawdown highest first, max drawdown lowest
first; a set that made no trade ranks below every set that traded, whatever the metric (no drawdown
is not a merit when nothing was tried); ties go to the higher net P&L, then to the earlier set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from trading.backtest.report import results
from trading.calendar import to_ny

Metric: TypeAlias = Literal["net", "pf", "dd", "ratio"]
METRICS: dict[str, str] = {
    "net": "net P&L",
    "pf": "profit factor",
    "dd": "max drawdown",
    "ratio": "net P&L / max drawdown",
}


@dataclass(frozen=True, slots=True)
class Score:
    trades: int
    net: Decimal
    profit_factor: Decimal | None  # None: no losing trade (JSON null, as in the backtest report)
    max_drawdown: Decimal

    @property
    def ratio(self) -> Decimal | None:
        """Net P&L / max drawdown; None (infinite) when a profit came without any drawdown."""
        if self.max_drawdown > 0:
            return self.net / self.max_drawdown
        return None if self.net > 0 else self.net

    def value(self, metric: Metric) -> float:
        """The metric as a number where higher is better (drawdown negated; None as infinity)."""
        if metric == "net":
            return float(self.net)
        if metric == "dd":
            return -float(self.max_drawdown)
        x = self.profit_factor if metric == "pf" else self.ratio
        return math.inf if x is None else float(x)

    def shown(self, metric: Metric) -> Decimal | None:
        """The metric as printed and written (drawdown as the positive amount it is)."""
        return {"net": self.net, "pf": self.profit_factor, "dd": self.max_drawdown, "ratio": self.ratio}[metric]

    def as_json(self) -> dict[str, Any]:
        pf, ratio = self.profit_factor, self.ratio
        return {
            "trades": self.trades,
            "net_pnl": str(self.net),
            "profit_factor": None if pf is None else str(pf.quantize(Decimal("0.0001"))),
            "max_drawdown": str(self.max_drawdown),
            "ratio": None if ratio is None else str(ratio.quantize(Decimal("0.0001"))),
        }


NO_TRADES = Score(0, Decimal(0), None, Decimal(0))


def score(trades: Sequence[Mapping[str, Any]], drawdown: Decimal | None = None) -> Score:
    """The score of `trades` (the backtest's trade rows); `drawdown` as the report's total row takes it
    (the account's equity curve), else trade by trade."""
    r = results(trades, 0.0, drawdown)
    return Score(r.trades, r.net, r.profit_factor, r.max_drawdown)


def trade_day(trade: Mapping[str, Any]) -> date:
    """The New York date a trade was entered (its trading day: the strategies enter in regular hours)."""
    return to_ny(datetime.fromisoformat(trade["entry_time"])).date()


def in_span(trades: Iterable[Mapping[str, Any]], first: date, last: date) -> list[Mapping[str, Any]]:
    return [t for t in trades if first <= trade_day(t) <= last]


def rank_key(metric: Metric) -> Any:
    """A sort key over (index, Score) pairs: best first."""

    def key(item: tuple[int, Score]) -> tuple[bool, float, float, int]:
        i, s = item
        return (s.trades == 0, -s.value(metric), -float(s.net), i)

    return key


def ranked(scores: Sequence[Score], metric: Metric) -> list[int]:
    """Indexes of `scores`, best first by `metric`."""
    return [i for i, _ in sorted(enumerate(scores), key=rank_key(metric))]
