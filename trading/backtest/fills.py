"""In-process order book for the backtest: the spec's fill conventions, bar by bar.

Conventions (overnight-range.md, "Backtest fill conventions"); each is a field of `FillRules`:
- No slippage by default (`slippage_ticks` worsens stop and market fills only).
- A buy stop triggers in the first bar whose high >= its price and fills at max(stop, open); a sell
  stop mirrors it (low <= price, min(stop, open)).
- A limit fills at its price when the bar trades *through* it (strictly beyond: a sell limit needs
  high > price), or at the open when the bar opens beyond it. `limit_touch = True` makes a touch
  (high >= price) enough. The spec words stops as ">=" and limits as "trades through"; we read the
  difference as deliberate.
- A market order fills at the open of the first bar at or after it was placed.
- Bracket children are tick offsets from the entry's fill price, live from the bar after the fill;
  when one bar reaches both, the stop loss fills. When the position goes flat, the remaining
  children of that contract are cancelled (the broker's auto-OCO brackets do the same).
- Several entries triggered in one bar fill nearer-to-the-open first; each fill is handed to the
  strategy at once, so an entry OCO cancels the other before it is looked at. Ties go to the buy.
- Children are matched before new entries in a bar: they protect a position that already exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from trading.domain import Bar, Bracket, Contract, Order, OrderStatus, OrderType, Side, to_decimal

ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class FillRules:
    slippage_ticks: int = 0
    limit_touch: bool = False


@dataclass(slots=True)
class BookEntry:
    order: Order
    bracket: Bracket | None
    active_from: datetime  # first bar start at which it may fill
    child_kind: str | None = None  # "sl" | "tp" for bracket children
    reason: str = ""


FillHandler = Callable[[BookEntry, Decimal, datetime], None]


class OrderBook:
    """Working orders of one backtest account; the runner feeds it bars in time order."""

    def __init__(self, contracts: dict[str, Contract], rules: FillRules) -> None:
        self.contracts = contracts
        self.rules = rules
        self.entries: dict[int, BookEntry] = {}  # today's orders, any state (the runner prunes daily)
        self._open: dict[str, dict[int, BookEntry]] = {}  # working orders by contract: the hot path
        self._next_id = 1

    def new_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    def add(self, entry: BookEntry) -> None:
        assert entry.order.id is not None
        self.entries[entry.order.id] = entry
        if entry.order.status is OrderStatus.OPEN:
            self._open.setdefault(entry.order.contract_id, {})[entry.order.id] = entry

    def working(self, contract_id: str | None = None) -> list[BookEntry]:
        if contract_id is not None:
            return list(self._open.get(contract_id, {}).values())
        return [e for book in self._open.values() for e in book.values()]

    def update(self, entry: BookEntry, order: Order) -> None:
        """Replace an order's state; a terminal one leaves the working set."""
        entry.order = order
        if order.status is not OrderStatus.OPEN and order.id is not None:
            self._open.get(order.contract_id, {}).pop(order.id, None)

    def set_status(self, order_id: int, status: OrderStatus, at: datetime) -> Order:
        e = self.entries[order_id]
        self.update(e, replace(e.order, status=status, updated_at=at))
        return e.order

    def end_of_day(self) -> None:
        """Forget finished orders: a strategy's `orders()` is today's."""
        self.entries = {i: e for i, e in self.entries.items() if e.order.status is OrderStatus.OPEN}

    def _trigger(self, e: BookEntry, bar: Bar, tick: Decimal) -> Decimal | None:
        """The fill price of `e` in `bar`, or None when it does not fill."""
        o = e.order
        level = o.stop_price if o.type is OrderType.STOP else o.limit_price
        if level is not None:
            # Cheap float rejection (a point of margin) before exact Decimal work: an order whose
            # level the bar does not reach. Buy stops and sell limits wait above, the others below.
            above = (o.type is OrderType.STOP) == (o.side is Side.BUY)
            if (bar.high < float(level) - 1) if above else (bar.low > float(level) + 1):
                return None
        op, hi, lo = to_decimal(bar.open), to_decimal(bar.high), to_decimal(bar.low)
        slip = self.rules.slippage_ticks * tick * o.side.sign
        if o.type is OrderType.MARKET:
            return op + slip
        if o.type is OrderType.STOP:
            assert o.stop_price is not None
            sp = o.stop_price
            if o.side is Side.BUY:
                return max(sp, op) + slip if hi >= sp else None
            return min(sp, op) + slip if lo <= sp else None
        if o.type is OrderType.LIMIT:
            assert o.limit_price is not None
            lp = o.limit_price
            if o.side is Side.SELL:
                if op > lp:
                    return op
                return lp if (hi >= lp if self.rules.limit_touch else hi > lp) else None
            if op < lp:
                return op
            return lp if (lo <= lp if self.rules.limit_touch else lo < lp) else None
        raise NotImplementedError(f"backtest cannot fill {o.type} orders")

    @staticmethod
    def _level(e: BookEntry, open_: Decimal) -> Decimal:
        o = e.order
        level = o.stop_price if o.type is OrderType.STOP else o.limit_price
        return abs((level if level is not None else open_) - open_)

    def process(self, contract_id: str, bar: Bar, on_fill: FillHandler) -> None:
        """Match the working orders of `contract_id` against `bar`, calling `on_fill` per fill."""
        tick = self.contracts[contract_id].tick_size
        book = self._open.get(contract_id)
        if not book:
            return
        live = [e for e in book.values() if e.active_from <= bar.start]
        if not live:
            return
        children = [e for e in live if e.child_kind is not None]
        if children:
            hits = [(e, p) for e in children if (p := self._trigger(e, bar, tick)) is not None]
            # One bar reaching both the stop loss and the take profit: the stop loss fills.
            hits.sort(key=lambda hp: 0 if hp[0].child_kind == "sl" else 1)
            done: set[int | None] = set()  # a bracket's children are one-cancels-other
            for e, price in hits:
                if e.order.status is OrderStatus.OPEN and e.order.parent_id not in done:
                    on_fill(e, price, bar.start)
                    if e.order.parent_id is not None:
                        done.add(e.order.parent_id)
        open_ = to_decimal(bar.open)
        parents = [e for e in live if e.child_kind is None]
        parents.sort(key=lambda e: (self._level(e, open_), 0 if e.order.side is Side.BUY else 1))
        for e in parents:
            if e.order.status is not OrderStatus.OPEN:
                continue  # cancelled by an earlier fill in this bar (entry OCO)
            fill = self._trigger(e, bar, tick)
            if fill is not None:
                on_fill(e, fill, bar.start)
