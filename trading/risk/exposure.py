"""What the account holds, as the caller's ledger sees it: the input of every risk check."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from trading.domain import Contract, Side
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import atr

ATR_BARS = 14  # the price band's ATR: mean true range of the last 14 one-minute bars


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    contract_id: str
    side: Side
    size: int


@dataclass(frozen=True, slots=True)
class PriceRef:
    """A contract's last trade and the units its price band is measured in."""

    last: Decimal
    tick_size: Decimal
    atr: Decimal | None = None  # in points, when enough bars are known


class _Bars(Protocol):
    def arrays(self) -> BarArrays: ...


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the account holds right now, as the caller's ledger sees it."""

    positions: Mapping[str, int] = field(default_factory=dict)  # contract id -> signed size
    working: Sequence[WorkingOrder] = ()  # working orders that can open or add (not bracket children)
    realized_today: Decimal = Decimal(0)
    unrealized: Decimal = Decimal(0)
    balance: Decimal = Decimal(0)  # realized account balance
    last_prices: Mapping[str, PriceRef] = field(default_factory=dict)  # contract id -> last trade

    @property
    def day_pnl(self) -> Decimal:
        return self.realized_today + self.unrealized

    @property
    def equity(self) -> Decimal:
        return self.balance + self.unrealized

    def worst_case(self, contract_id: str, extra: WorkingOrder | None = None) -> int:
        """The largest position `contract_id` can reach: the position plus every working order (and
        `extra`) on the side that grows it most."""
        pos = self.positions.get(contract_id, 0)
        orders = [*self.working, *([extra] if extra is not None else [])]
        buys = sum(w.size for w in orders if w.contract_id == contract_id and w.side is Side.BUY)
        sells = sum(w.size for w in orders if w.contract_id == contract_id and w.side is Side.SELL)
        return max(abs(pos + buys), abs(pos - sells))

    @staticmethod
    def last_prices_of(
        contracts: Mapping[str, Contract],
        last_price: Callable[[str], Decimal | None],
        bars: Mapping[str, _Bars],
        memo: AtrMemo | None = None,
    ) -> dict[str, PriceRef]:
        """`last_prices` from a symbol -> contract map, the last trade of a symbol and its 1-minute bars.
        `memo` (the caller's, kept between calls): each symbol's ATR while its bars are the same arrays
        (a bar cache hands out new arrays when a bar closes), so a risk check between two bars does not
        redo the Decimal arithmetic of the true ranges."""
        out: dict[str, PriceRef] = {}
        for sym, c in contracts.items():
            last = last_price(sym)
            if last is None:
                continue
            cache = bars.get(sym)
            points = _atr_points(sym, cache.arrays(), memo) if cache is not None else None
            out[c.id] = PriceRef(last, c.tick_size, points)
        return out


AtrMemo = dict[str, tuple[BarArrays, Decimal | None]]  # symbol -> (the bars it was computed on, ATR points)


def _atr_points(symbol: str, arrays: BarArrays, memo: AtrMemo | None) -> Decimal | None:
    known = memo.get(symbol) if memo is not None else None
    if known is not None and known[0] is arrays:  # the same arrays, held by the memo: the same bars
        return known[1]
    mean = atr(arrays, ATR_BARS)
    points = None if mean is None else Decimal(mean.numerator) / mean.denominator
    if memo is not None:
        memo[symbol] = (arrays, points)
    return points
