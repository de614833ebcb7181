"""The overnight range's Rust implementation behind the same `Strategy` face.

`RustOvernightRange` is an `OvernightRange` whose event handlers, state and orders come from the
Rust core (`rust_ext/src/strategy/overnight_range/`, binding `trading._native.OvernightRangeCore`):
`strategies.overnight_range.impl = "rust"` chooses it wherever the strategy is built. What stays
Python, on purpose: the exchange calendar (a maintained package; the Rust side gets each day's
sessions and the previous day's hours in the day tuple and asks `open_minutes`), the notification
payloads (the same `trading.notifications` builders from the parts the core sends), and the chart
and dry-run helpers inherited from `OvernightRange` (pure reads of the levels).

The host below is the core's `Context`: it answers reads from the strategy's context and carries
out the core's actions through it. Money crosses as `Decimal` text, times as UTC ns.

Re-entrancy: a context action can call back into the strategy at once (the backtest's `cancel`
calls `on_order_update` synchronously). The core is busy then, so such events are queued and
delivered when the running handler returns. For the overnight range this gives the same state as
the Python strategy's nested call: every queued update finds its side already marked by the
handler that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

from trading import native, notifications
from trading.calendar import TradingDay, open_minutes, previous_trading_day, rth, sessions_before
from trading.config import OvernightRangeSettings
from trading.domain import Bar, Bracket, Contract, NotificationKind, Order, OrderRequest, OrderType, Quote, Side
from trading.marketdata.aggregation import ny_zone
from trading.marketdata.levels import ns
from trading.strategies.base import JSON, SessionEvent, StrategyContext
from trading.strategies.overnight_range import OvernightRange

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OrderRow = tuple[int | None, str | None, int | None, str, str, bool, str | None, str | None]
SummaryRow = tuple[str, str, str, int, str, str | None, str | None]  # symbol, tag, side, size, status, entry, exit


def _dt(t_ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=t_ns // 1000)


def _text(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def order_row(o: Order) -> OrderRow:
    return (o.id, o.custom_tag, o.parent_id, o.type.value, o.status.value, o.status.is_working,
            _text(o.stop_price), _text(o.filled_price))  # fmt: skip


def config_json(c: OvernightRangeSettings) -> str:
    """The settings the core reads; decimals as `Decimal` text (their sentences print them)."""
    data = c.model_dump(mode="python")
    out = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items() if not hasattr(v, "hour")}
    out["symbols"] = list(c.symbols)
    return json.dumps(out)


@lru_cache(maxsize=4096)
def _calendar_facts(d: date, n: int) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    sessions = [(ns(s.open), ns(s.close)) for s in sessions_before(d, n)]
    hours = rth(previous_trading_day(d))
    return sessions, (None if hours is None else (ns(hours[0]), ns(hours[1])))


def day_tuple(day: TradingDay, atr_period: int) -> tuple[Any, ...]:
    sessions, previous = _calendar_facts(day.date, atr_period + 1)
    return (day.date.year, day.date.month, day.date.day, ns(day.window_start), ns(day.window_end), ns(day.rth_open),
            ns(day.rth_close), ns(day.flatten), sessions, previous)  # fmt: skip


class _Host:
    """The core's `Context` over a strategy context (see the module docstring)."""

    def __init__(self, strategy: RustOvernightRange) -> None:
        self.s = strategy
        self.ctx: StrategyContext = strategy.ctx
        self.date = ""  # the trading day of the running session event (range cards carry it)
        self.at: datetime | None = None  # the fill being handled
        self._rows: dict[int, tuple[Order, OrderRow]] = {}  # see orders()

    def now(self) -> int:
        return ns(self.ctx.now())

    def tick_size(self, symbol: str) -> str:
        return str(self.ctx.contract(symbol).tick_size)

    def bars(self, symbol: str, start: int, end: int) -> tuple[Any, ...]:
        a = self.ctx.bars(symbol, _dt(start), _dt(end))
        f64 = np.float64
        return (np.ascontiguousarray(a.ts, np.int64), np.ascontiguousarray(a.open, f64),
                np.ascontiguousarray(a.high, f64), np.ascontiguousarray(a.low, f64),
                np.ascontiguousarray(a.close, f64))  # fmt: skip

    def last_price(self, symbol: str) -> str | None:
        return _text(self.ctx.last_price(symbol))

    def orders(self) -> list[OrderRow]:
        """The context's orders as rows, each row built once per order object: an `Order` is frozen and
        the engine replaces it on every change, so the object is the key (kept in the cache, its id
        cannot be reused while cached). The breakeven reads every order on each quote that arms it."""
        rows = self._rows
        out: list[OrderRow] = []
        orders = self.ctx.orders()
        for o in orders:
            hit = rows.get(id(o))
            if hit is None or hit[0] is not o:
                hit = rows[id(o)] = (o, order_row(o))
            out.append(hit[1])
        if len(rows) > 2 * len(out) + 64:  # replaced orders pile up: keep the current ones only
            self._rows = {id(o): rows[id(o)] for o in orders}
        return out

    def _order(self, order_id: int) -> Order | None:
        return next((o for o in self.ctx.orders() if o.id == order_id), None)

    def position(self, symbol: str) -> tuple[bool, int] | None:
        pos = self.ctx.position(symbol)
        return None if pos is None else (pos.side.value == "long", pos.size)

    def account(self) -> tuple[str, str]:
        a = self.ctx.account()
        return str(a.daily_pnl), str(a.daily_loss_limit)

    def open_minutes(self, start: int, end: int) -> int:
        return open_minutes(_dt(start), _dt(end))

    def propose(
        self, symbol: str, side: str, kind: str, size: int, tag: str, stop: str | None, sl: int | None,
        tp: int | None, reason: str,
    ) -> tuple[bool, str, int | None]:  # fmt: skip
        request = OrderRequest(
            account_id=self.ctx.account().account_id,
            contract_id=self.ctx.contract(symbol).id,
            side=Side(side),
            type=OrderType(kind),
            size=size,
            custom_tag=tag,
            stop_price=None if stop is None else Decimal(stop),
            bracket=None if sl is None and tp is None else Bracket(stop_loss_ticks=sl, take_profit_ticks=tp),
            reason=reason,
        )
        d = self.ctx.propose(request)
        return d.approved, d.reason, None if d.order is None else d.order.id

    def cancel(self, order_id: int) -> None:
        order = self._order(order_id)
        if order is not None:
            self.ctx.cancel(order)

    def modify_stop(self, order_id: int, price: str) -> None:
        order = self._order(order_id)
        if order is not None:
            self.ctx.modify_stop(order, Decimal(price))

    def range_card(
        self, symbol: str, card: str, levels: str, filters: str, blocked: str | None, sides: str, warmup: str | None
    ) -> None:
        payload = card_payload(self.s.name, self.ctx.contract(symbol), self.date, self.ctx.now(), card, levels,
                               filters, blocked, sides, warmup)  # fmt: skip
        self.ctx.notify(NotificationKind.STRATEGY, payload)

    def strategy_fill(
        self, symbol: str, exit_: bool, side: str, price: str, size: int, tag: str | None, entry: str | None
    ) -> None:
        assert self.at is not None
        kind, payload = fill_payload(self.s.name, self.ctx.contract(symbol), exit_, side, price, size, tag, self.at,
                                     entry)  # fmt: skip
        self.ctx.notify(kind, payload)

    def summary(self, day: str, rows: list[SummaryRow], notes: list[tuple[str, str]], symbols: str) -> None:
        self.ctx.notify(NotificationKind.SUMMARY, summary_payload(self.s.name, self.ctx.contract, day, rows, notes,
                                                                  symbols))  # fmt: skip


# The core's notices as the payloads of `trading.notifications` (here and in the Rust backtest loop,
# trading/backtest/native.py): parts cross as JSON text and `Decimal` text.
def card_payload(
    name: str, contract: Contract, date: str, as_of: datetime, card: str, levels: str, filters: str,
    blocked: str | None, sides: str, warmup: str | None,
) -> notifications.RangeCardPayload:  # fmt: skip
    return notifications.range_card(
        name, contract, date, card="range" if card == "range" else "open", as_of=as_of, levels=json.loads(levels),
        filters=json.loads(filters), blocked=blocked, sides=json.loads(sides), warmup=warmup,
    )  # fmt: skip


def fill_payload(
    name: str, contract: Contract, exit_: bool, side: str, price: str, size: int, tag: str | None, at: datetime,
    entry: str | None,
) -> tuple[NotificationKind, notifications.StrategyFillPayload]:  # fmt: skip
    payload = notifications.strategy_fill(
        name, contract, exit_=exit_, side=side, price=Decimal(price), size=size, tag=tag, at=at,
        entry_price=None if entry is None else Decimal(entry),
    )  # fmt: skip
    return (NotificationKind.EXIT_FILL if exit_ else NotificationKind.ENTRY_FILL), payload


def summary_payload(
    name: str, contract: Callable[[str], Contract], day: str, rows: list[SummaryRow], notes: list[tuple[str, str]],
    symbols: str,
) -> notifications.StrategySummaryPayload:  # fmt: skip
    trades = [notifications.trade_row(contract(sym), tag, side, size, status, entry, exit_)
              for sym, tag, side, size, status, entry, exit_ in rows]  # fmt: skip
    return notifications.strategy_summary(name, day, trades, dict(notes), json.loads(symbols))


class RustOvernightRange(OvernightRange):
    """`strategies.overnight_range.impl = "rust"`: the same strategy, its rules run by the Rust core."""

    def __init__(self, config: OvernightRangeSettings, ctx: Any) -> None:
        super().__init__(config, ctx)
        ext = native.module()
        if ext is None or not hasattr(ext, "OvernightRangeCore"):
            raise RuntimeError(
                'strategies.overnight_range.impl = "rust" needs the Rust extension with the strategy core; '
                f'this process runs {native.describe()}: set impl = "python" or rebuild the extension'
            )
        zone = ny_zone()
        self.core = ext.OvernightRangeCore(config_json(config), zone.utc, zone.offset)
        self.host = _Host(self)
        self._busy = False
        self._queued: list[Callable[[], None]] = []

    def _run(self, call: Callable[[], None]) -> None:
        if self._busy:  # called back from inside a running handler: deliver when it returns
            self._queued.append(call)
            return
        self._busy = True
        try:
            call()
            while self._queued:
                self._queued.pop(0)()
        finally:
            self._busy = False
            self._queued.clear()

    # ------------------------------------------------------------------ the Strategy face
    def on_session_event(self, event: SessionEvent, day: TradingDay) -> None:
        def call() -> None:
            self.host.date = day.date.isoformat()
            self.core.on_session_event(self.host, event.value, day_tuple(day, self.config.atr_period))

        self._run(call)

    def bar_triggers(self, symbol: str) -> list[tuple[bool, float]] | None:
        """Until another event comes, `on_bar(symbol, ...)` acts only on a bar that reaches one of these
        (buy, level): a buy's high at or above its level, a sell's low at or below it (an entry awaiting
        its breakeven); [] when it does nothing, None when any bar may act. The backtest skips the bars
        that reach none (trading/backtest/skip.py)."""
        triggers: list[tuple[bool, float]] = self.core.bar_triggers(symbol)
        return None if not triggers and self.core.watching(symbol) else triggers

    def on_bar(self, symbol: str, bar: Bar) -> None:
        if self.core.watching(symbol):  # hot path: nothing to do unless a breakeven is pending
            self._run(lambda: self.core.on_bar(self.host, symbol, bar.high, bar.low))

    def on_quote(self, symbol: str, quote: Quote) -> None:
        if quote.last is not None and self.core.watching(symbol):
            last = str(quote.last)
            self._run(lambda: self.core.on_quote(self.host, symbol, last))

    def on_order_update(self, order: Order) -> None:
        row = order_row(order)
        self._run(lambda: self.core.on_order_update(self.host, row))

    def on_fill(self, order: Order, price: Decimal, size: int, at: datetime) -> None:
        row = order_row(order)

        def call() -> None:
            self.host.at = at
            self.core.on_fill(self.host, row, str(price), size)

        self._run(call)

    def on_save(self) -> JSON:
        state: JSON = json.loads(self.core.on_save())
        return state

    def on_load(self, state: JSON) -> None:
        self.core.on_load(json.dumps(state))
