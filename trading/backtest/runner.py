"""Replays 1-minute bars through the same strategies and risk as live, with in-process fills.

The runner walks trading days (calendar.py). Per day it fires the strategy's session events at
their New York times and, between them, every 1-minute bar of the regular session (RTH open to
NYSE close) through the order book (fills.py) and then to `strategy.on_bar`. Events at
time T happen before the bar that opens at T. Overnight bars are not replayed bar by bar: they are
read through `ctx.bars` (levels, ATRs), which is all the strategies need; an overnight-trading
strategy would need the loop widened.

A strategy whose rules run in the Rust core (the overnight range with `impl = "rust"`) runs this whole
loop in Rust (native.py: the same steps, fills, ledger and records; risk stays this module's
`RiskManager`); `native=False` keeps it here. In this loop, bars that change nothing (no order can
fill, the strategy does not act on them, the mark cannot trip the kill switch) are skipped in Rust
when the strategy says which bars it acts on (skip.py).

Money is exact: fills are Decimal on the tick grid, P&L is ticks x tick value x quantity per lot
(FIFO), fees per contract per side from `[backtest]`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel

from trading import native
from trading.backtest import native as rust_loop
from trading.backtest.bars_csv import EPOCH, from_ns
from trading.backtest.fills import BookEntry, FillRules, OrderBook
from trading.backtest.ledger import BacktestResult, Ledger
from trading.backtest.skip import NEVER, skipper_of
from trading.calendar import TradingDay, trading_day, trading_days
from trading.config import BacktestSettings, RiskSettings
from trading.domain import (
    Bar,
    Contract,
    Decision,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Quote,
    Side,
    to_decimal,
)
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import NS, cut, ns
from trading.risk import Exposure, KillMode, RiskManager, WorkingOrder
from trading.strategies.base import AccountInfo, SessionEvent, Strategy

ONE_MINUTE = timedelta(minutes=1)
IMPLS = ("python", "rust")  # a strategy's implementations (`strategies.<name>.impl`)

# Offline contract table (live reads them from the API).
BACKTEST_CONTRACTS: dict[str, Contract] = {
    "MNQ": Contract("CON.F.US.MNQ.BT", "MNQ", "F.US.MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.50")),
    "MES": Contract("CON.F.US.MES.BT", "MES", "F.US.MES", "Micro E-mini S&P 500", Decimal("0.25"), Decimal("1.25")),
}


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the session events fire, New York wall clock; flatten comes from the calendar."""

    pre_open: time = time(9, 25)
    last_entry: time = time(11, 0)
    summary: time = time(16, 15)
    flatten: time = time(15, 55)
    flatten_minutes_before_close: int = 5

    def events(self, day: TradingDay) -> list[tuple[datetime, SessionEvent]]:
        return [
            (day.at(self.pre_open), SessionEvent.PRE_OPEN),
            (day.rth_open, SessionEvent.OPEN),
            (day.at(self.last_entry), SessionEvent.LAST_ENTRY),
            (day.flatten, SessionEvent.FLATTEN),
            (day.at(self.summary), SessionEvent.SUMMARY),
        ]


# ---------------------------------------------------------------------------------------- runner
StrategyFactory = Callable[["BacktestContext"], Strategy[Any]]


class BacktestContext:
    """The StrategyContext of one strategy inside a backtest."""

    def __init__(self, runner: Backtest) -> None:
        self.runner = runner
        self.strategy: Strategy[Any] | None = None

    def now(self) -> datetime:
        return self.runner.clock

    def contract(self, symbol: str) -> Contract:
        return self.runner.contracts[symbol]

    def bars(self, symbol: str, start: datetime, end: datetime) -> BarArrays:
        a = self.runner.bars.get(symbol)
        if a is None:
            return BarArrays(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in range(5)))
        # Only closed bars: open time <= now - 1 minute.
        hi_ns = min(ns(end), ns(self.runner.clock) - 60 * NS + 1)
        lo = int(np.searchsorted(a.ts, ns(start), side="left"))
        hi = max(lo, int(np.searchsorted(a.ts, hi_ns, side="left")))
        return cut(a, lo, hi)

    def last_price(self, symbol: str) -> Decimal | None:
        a = self.runner.bars.get(symbol)
        if a is None or len(a.ts) == 0:
            return None
        now = ns(self.runner.clock)
        i = int(np.searchsorted(a.ts, now, side="left"))
        if i < len(a.ts) and int(a.ts[i]) == now:
            return to_decimal(float(a.open[i]))  # the first trade of the bar opening now
        return to_decimal(float(a.close[i - 1])) if i > 0 else None

    def quote(self, symbol: str) -> Quote | None:
        last = self.last_price(symbol)
        return None if last is None else Quote(self.contract(symbol).id, self.runner.clock, last=last)

    def orders(self) -> list[Order]:
        return [e.order for e in self.runner.book.entries.values() if self.runner.owner.get(e.order.id or 0) is self]

    def working_orders(self) -> list[Order]:
        return [o for o in self.orders() if o.status.is_working]

    def position(self, symbol: str) -> Position | None:
        cid = self.contract(symbol).id
        lots = self.runner.ledger.lots.get(cid, [])
        qty = sum(lot.qty for lot in lots)
        if qty == 0:
            return None
        avg = sum((lot.price * abs(lot.qty) for lot in lots), Decimal(0)) / abs(qty)
        return Position(1, cid, PositionSide.LONG if qty > 0 else PositionSide.SHORT, abs(qty), avg)

    def account(self) -> AccountInfo:
        risk = self.runner.risk
        limit = risk.daily_loss_limit or risk.settings.daily_loss_limit  # the rule profile's, else [risk]'s
        return AccountInfo(1, self.runner.ledger.balance, self.runner.day_pnl(), limit)

    def propose(self, request: OrderRequest) -> Decision:
        return self.runner.propose(self, request)

    def cancel(self, order: Order) -> None:
        if order.id is not None:
            self.runner.cancel(order.id, "cancelled by the strategy")

    def modify_stop(self, order: Order, price: Decimal) -> None:
        self.runner.modify_stop(order, price)

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None:
        self.runner.notify(kind, payload)


class Backtest:
    def __init__(
        self,
        factory: StrategyFactory,
        bars: Mapping[str, BarArrays],
        *,
        risk: RiskSettings | None = None,
        settings: BacktestSettings | None = None,
        contracts: Mapping[str, Contract] | None = None,
        starting_balance: Decimal = Decimal("50000"),
        schedule: Schedule | None = None,
        rules: FillRules | None = None,
        skip: bool = True,
        native: bool = True,
    ) -> None:
        bs = settings or BacktestSettings()
        self.skip = skip  # fast-forward over bars that change nothing, where the strategy allows (skip.py)
        self.native = native  # the whole loop in Rust, where the strategy allows (native.py)
        self.loop = ""  # which loop the last run used: "python" | "rust"
        self.bars = dict(bars)
        self.contracts = dict(contracts or BACKTEST_CONTRACTS)
        self.by_id = {c.id: c for c in self.contracts.values()}
        self.symbol_of = {c.id: sym for sym, c in self.contracts.items()}
        self.rules = rules or FillRules(slippage_ticks=bs.slippage_ticks)
        self.book = OrderBook(self.by_id, self.rules)
        self.ledger = Ledger(self.by_id, starting_balance, bs.fees_per_contract_side)
        self.risk = RiskManager(risk or RiskSettings())
        self.schedule = schedule or Schedule()
        self.clock = EPOCH
        self.marks: dict[str, Decimal] = {}
        self.owner: dict[int, BacktestContext] = {}
        self.ctx = BacktestContext(self)
        self.strategy = factory(self.ctx)
        self.ctx.strategy = self.strategy
        self.result = BacktestResult(self.strategy.name, date.min, date.min, starting_balance)
        self._entry_of: dict[str, tuple[Side, Decimal, datetime, int, str]] = {}

    # ---------------------------------------------------------------- accounting
    def day_pnl(self) -> Decimal:
        unreal = sum((self.ledger.unrealized(cid, m) for cid, m in self.marks.items()), Decimal(0))
        return self.ledger.balance - self.ledger.day_start_balance + unreal

    def exposure(self) -> Exposure:
        unreal = sum((self.ledger.unrealized(cid, m) for cid, m in self.marks.items()), Decimal(0))
        return Exposure(
            positions={cid: self.ledger.position(cid) for cid in self.ledger.lots},
            working=[
                WorkingOrder(e.order.contract_id, e.order.side, e.order.size)
                for e in self.book.working()
                if e.child_kind is None
            ],
            realized_today=self.ledger.balance - self.ledger.day_start_balance,
            unrealized=unreal,
            balance=self.ledger.balance,
        )

    def _record(self, action: str, order: Order, reason: str = "", **extra: Any) -> None:
        self.result.orders.append(
            {
                "time": self.clock.isoformat(),
                "action": action,
                "order_id": order.id,
                "symbol": self.symbol_of.get(order.contract_id, order.contract_id),
                "side": order.side.value,
                "type": order.type.value,
                "price": str(order.stop_price or order.limit_price or "") or None,
                "qty": order.size,
                "customTag": order.custom_tag,
                "reason": reason,
                **extra,
            }
        )

    # ---------------------------------------------------------------- context actions
    def propose(self, ctx: BacktestContext, request: OrderRequest) -> Decision:
        decision = self.risk.check(request, self.exposure(), self.clock)
        order = Order(
            id=None,
            account_id=request.account_id,
            contract_id=request.contract_id,
            side=request.side,
            type=request.type,
            size=request.size,
            status=OrderStatus.REJECTED,
            custom_tag=request.custom_tag,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            created_at=self.clock,
        )
        if not decision.approved:
            self._record("refused", order, decision.reason)
            self.notify(NotificationKind.RISK, {"refused": request.custom_tag, "reason": decision.reason})
            return decision
        order = replace(order, id=self.book.new_id(), status=OrderStatus.OPEN)
        assert order.id is not None
        self.book.add(BookEntry(order, request.bracket, self.clock, None, request.reason))
        self.owner[order.id] = ctx
        extra: dict[str, Any] = {}
        if request.bracket is not None:
            extra = {"sl_ticks": request.bracket.stop_loss_ticks, "tp_ticks": request.bracket.take_profit_ticks}
        self._record("placed", order, request.reason, **extra)
        return Decision(True, decision.reason, order)

    def cancel(self, order_id: int, reason: str) -> None:
        e = self.book.entries.get(order_id)
        if e is None or e.order.status is not OrderStatus.OPEN:
            return
        order = self.book.set_status(order_id, OrderStatus.CANCELLED, self.clock)
        self._record("cancelled", order, reason)
        owner = self.owner.get(order_id)
        if owner is not None and owner.strategy is not None:
            owner.strategy.on_order_update(order)

    def modify_stop(self, order: Order, price: Decimal) -> None:
        if order.id is None or order.id not in self.book.entries:
            return
        e = self.book.entries[order.id]
        if e.order.status is not OrderStatus.OPEN:
            return
        e.order = replace(e.order, stop_price=price, updated_at=self.clock)
        self._record("modified", e.order, "breakeven: stop moved to the entry price")

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None:
        item = {"kind": kind.value, "time": self.clock.isoformat(), **payload}
        self.result.notifications.append(item)
        if kind is NotificationKind.STRATEGY and payload.get("card") == "open":
            # One flat row per day and symbol: date, symbol, onh, onl, range, atr5, atrd, ..., filters.
            row = {"date": item.get("date"), "symbol": item.get("symbol"), **item.get("levels", {})}
            row.update({k: item[k] for k in ("filters", "blocked", "sides") if k in item})
            self.result.days.append(row)

    # ---------------------------------------------------------------- fills
    def _on_fill(self, e: BookEntry, price: Decimal, at: datetime) -> None:
        o = e.order
        assert o.id is not None
        contract = self.by_id[o.contract_id]
        price = contract.snap(price)
        filled = replace(o, status=OrderStatus.FILLED, fill_volume=o.size, filled_price=price, updated_at=at)
        self.book.update(e, filled)
        symbol = self.symbol_of[o.contract_id]
        before = self.ledger.position(o.contract_id)
        pnl, ticks = self.ledger.apply(o.contract_id, o.side, o.size, price)
        after = self.ledger.position(o.contract_id)
        self.result.fills.append(
            {
                "time": at.isoformat(),
                "order_id": o.id,
                "symbol": symbol,
                "side": o.side.value,
                "type": o.type.value,
                "price": str(price),
                "qty": o.size,
                "customTag": o.custom_tag,
                "reason": e.reason,
            }
        )
        self._record("filled", filled, e.reason, fill_price=str(price))
        self._trade_bookkeeping(symbol, o, price, at, before, after, pnl, ticks, e.reason)
        if e.bracket is not None and after != 0 and (after > 0) == (o.side is Side.BUY):
            self._add_children(e, filled, price, at)
        if after == 0:
            for child in self.book.working(o.contract_id):
                if child.child_kind is not None:
                    assert child.order.id is not None
                    self.cancel(child.order.id, "position flat: bracket cancelled")
        owner = self.owner.get(o.id)
        if owner is not None and owner.strategy is not None:
            owner.strategy.on_fill(filled, price, o.size, at)
        for trip in self.risk.mark(self.exposure(), at):
            self._halt(trip.reason)

    def _add_children(self, e: BookEntry, parent: Order, price: Decimal, at: datetime) -> None:
        assert e.bracket is not None and parent.id is not None
        tick = self.by_id[parent.contract_id].tick_size
        for kind, ticks, otype in (
            ("sl", e.bracket.stop_loss_ticks, OrderType.STOP),
            ("tp", e.bracket.take_profit_ticks, OrderType.LIMIT),
        ):
            if ticks is None:
                continue
            level = price + ticks * tick
            child = Order(
                id=self.book.new_id(),
                account_id=parent.account_id,
                contract_id=parent.contract_id,
                side=parent.side.opposite,
                type=otype,
                size=parent.size,
                status=OrderStatus.OPEN,
                custom_tag=f"{parent.custom_tag}:{kind}",
                stop_price=level if otype is OrderType.STOP else None,
                limit_price=level if otype is OrderType.LIMIT else None,
                created_at=at,
                parent_id=parent.id,
            )
            assert child.id is not None
            reason = "stop loss" if kind == "sl" else "take profit"
            # Live from the bar after the entry fill.
            self.book.add(BookEntry(child, None, at + ONE_MINUTE, kind, reason))
            owner = self.owner.get(parent.id)
            if owner is not None:
                self.owner[child.id] = owner
            self._record("placed", child, reason)

    def _trade_bookkeeping(
        self, symbol: str, o: Order, price: Decimal, at: datetime, before: int, after: int, pnl: Decimal, ticks: int,
        reason: str,
    ) -> None:  # fmt: skip
        if before == 0 and after != 0:
            self._entry_of[symbol] = (o.side, price, at, abs(after), o.custom_tag or "")
        if before != 0 and (after == 0 or (after > 0) != (before > 0)):
            side, entry, entered, qty, tag = self._entry_of.pop(symbol)
            fees = self.ledger.fees_per_side * qty * 2
            self.result.trades.append(
                {
                    "symbol": symbol,
                    "side": side.value,
                    "qty": qty,
                    "entry_time": entered.isoformat(),
                    "entry_price": str(entry),
                    "exit_time": at.isoformat(),
                    "exit_price": str(price),
                    "ticks": ticks,
                    "pnl": str(pnl),
                    "fees": str(fees),
                    "customTag": tag,
                    "exit_reason": reason,
                }
            )
            self.result.equity.append((at, self.ledger.balance))
            if after != 0:
                self._entry_of[symbol] = (o.side, price, at, abs(after), o.custom_tag or "")

    def _halt(self, reason: str) -> None:
        """Kill switch HALTED: cancel every working order and flatten at the next bar's open."""
        for e in self.book.working():
            assert e.order.id is not None
            self.cancel(e.order.id, f"kill switch: {reason}")
        for cid in list(self.ledger.lots):
            qty = self.ledger.position(cid)
            if qty:
                side = Side.SELL if qty > 0 else Side.BUY
                tag = f"risk:flatten:{self.clock.isoformat()}"
                req = OrderRequest(1, cid, side, OrderType.MARKET, abs(qty), tag, reason=f"kill switch: {reason}")
                self.propose(self.ctx, req)

    # ---------------------------------------------------------------- the loop
    def run(self, start: date, end: date, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
        if self.native and rust_loop.runs_natively(self):
            self.loop = "rust"
            return rust_loop.run(self, start, end, progress)
        self.loop = "python"
        self.result.start, self.result.end = start, end
        days = trading_days(start, end)
        sched = self.schedule
        symbols = [s for s in self.bars if s in self.contracts]
        skipper = skipper_of(self) if self.skip else None
        for n, d in enumerate(days):
            td = trading_day(d, flatten=sched.flatten, minutes_before_close=sched.flatten_minutes_before_close)
            self.ledger.day_start_balance = self.ledger.balance
            events = self.schedule.events(td)
            day_bars: dict[str, tuple[BarArrays, int, int]] = {}
            times: list[np.ndarray[Any, np.dtype[np.int64]]] = []
            for sym in symbols:
                a = self.bars[sym]
                lo = int(np.searchsorted(a.ts, ns(td.rth_open), side="left"))
                hi = int(np.searchsorted(a.ts, ns(td.rth_close), side="left"))
                day_bars[sym] = (a, lo, hi)
                times.append(a.ts[lo:hi])
            stamps = np.unique(np.concatenate(times)) if times else np.empty(0, np.int64)
            ptr = {sym: lo for sym, (_, lo, _) in day_bars.items()}
            ev = 0
            stamp_list: list[int] = stamps.tolist()
            k = 0
            while k < len(stamp_list):
                if skipper is not None:  # jump over the bars that change nothing (skip.py)
                    until = ns(events[ev][0]) if ev < len(events) else NEVER
                    stop = skipper.advance(td, symbols, day_bars, ptr, until)
                    k = bisect_left(stamp_list, until if stop is None else stop, k)
                    if k == len(stamp_list):
                        break
                t_ns = stamp_list[k]
                k += 1
                t = from_ns(t_ns)
                while ev < len(events) and events[ev][0] <= t:
                    self.clock = events[ev][0]
                    self.strategy.on_session_event(events[ev][1], td)
                    ev += 1
                self.clock = t
                for sym in symbols:
                    a, _, hi = day_bars[sym]
                    i = ptr[sym]
                    if i >= hi or int(a.ts[i]) != t_ns:
                        continue
                    ptr[sym] = i + 1
                    bar = Bar(sym, "1m", t, float(a.open[i]), float(a.high[i]), float(a.low[i]),
                              float(a.close[i]), float(a.volume[i]))  # fmt: skip
                    cid = self.contracts[sym].id
                    self.book.process(cid, bar, self._on_fill)
                    self.clock = t + ONE_MINUTE
                    if self.ledger.position(cid):
                        self.marks[cid] = to_decimal(bar.close)
                        for trip in self.risk.mark(self.exposure(), self.clock):
                            self._halt(trip.reason)
                    self.strategy.on_bar(sym, bar)
                    self.clock = t
            while ev < len(events):
                self.clock = events[ev][0]
                self.strategy.on_session_event(events[ev][1], td)
                ev += 1
            # Nothing survives the day: a market order left after the last bar is dropped.
            for e in self.book.working():
                assert e.order.id is not None
                self.cancel(e.order.id, "end of day")
            self.book.end_of_day()
            self.marks.clear()
            if progress is not None:
                progress(n + 1, len(days))
        self.result.fees = self.ledger.fees
        return self.result

    @property
    def kill_mode(self) -> KillMode:
        return self.risk.state.kill_mode


def default_impl(strategy: str) -> str | None:
    """The implementation a backtest (and the optimizer) uses when none is asked: "rust" for a strategy
    with a Rust implementation when the extension has the Rust loop (parity-tested: the same --json),
    else None (the strategy's settings decide)."""
    from trading.strategies import STRATEGIES

    cls = STRATEGIES.get(strategy)
    ext = native.module()
    rust = "rust" in getattr(cls, "implementations", {})
    return "rust" if rust and ext is not None and hasattr(ext, "backtest_run") else None


def with_impl(factory: StrategyFactory, impl: str | None) -> StrategyFactory:
    """The factory, but a strategy with two implementations is built with `impl` ("rust" | "python");
    a Python-only strategy is built as it is. None keeps what the strategy's settings say."""
    if impl is None:
        return factory
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(IMPLS)}, got {impl!r}")

    def build(ctx: BacktestContext) -> Strategy[Any]:
        from trading.strategies import STRATEGIES

        strategy = factory(ctx)
        config = strategy.config
        if isinstance(config, BaseModel) and getattr(config, "impl", impl) != impl:
            strategy = STRATEGIES[strategy.name](config.model_copy(update={"impl": impl}), ctx)
        return strategy

    return build


def run_backtest(
    factory: StrategyFactory,
    bars: Mapping[str, BarArrays],
    start: date,
    end: date,
    impl: str | None = None,
    **kwargs: Any,
) -> BacktestResult:
    """Backtest `factory`'s strategy; `impl` chooses the implementation of a strategy that has a Rust
    one. With the Rust overnight range the whole loop runs in Rust (native.py; `native=False`: this
    module's loop, skipping in Rust the bars that change nothing), giving the same result faster."""
    return Backtest(with_impl(factory, impl), bars, **kwargs).run(start, end)


def symbols_of(bars: Mapping[str, BarArrays]) -> Sequence[str]:
    return sorted(bars)
