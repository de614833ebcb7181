"""The backtest's fast-forward: bars that change nothing are skipped in Rust (`rust_ext/src/backtest/`).

The Python loop (runner.py) stays the one authority on fills, the ledger, risk and the strategy. Before
each bar it would replay, it asks the Rust core (`trading._native.backtest_advance`) how far every bar is
a no-op: no working order can fill (float check with half a tick of margin), the bar reaches none of the
strategy's bar triggers (`bar_triggers`: the levels at which its `on_bar` acts, checked the same way), and
marking the position to market cannot trip the kill switch (the loss limit, the trailing floor, the
profit cap, with a margin wider than tick rounding). The loop then jumps there; the marks the skipped bars
would have set are set from the last of them. Any bar the core is unsure of is replayed by the loop, so
the result is the Python backtest's, byte for byte.

What a skipped bar leaves out, and why nothing reads it: `RiskManager.mark`'s remembered day P&L (only
the live status view reads it; the backtest's checks use the exposure they are given), and the
strategy's `on_bar` (a no-op on a bar that reaches none of its `bar_triggers`).

Used only for a strategy that says at which prices its bars act (the Rust overnight range); others replay
every bar.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from trading import native
from trading.backtest.fills import OrderBook
from trading.backtest.ledger import Ledger
from trading.calendar import TradingDay
from trading.domain import Contract, OrderType, Side, to_decimal
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import ns
from trading.risk import KillMode, RiskManager

KINDS = {OrderType.MARKET: "market", OrderType.LIMIT: "limit", OrderType.STOP: "stop"}
NEVER = 2**63 - 1


class Backtest(Protocol):
    """What the skip reads of the backtest (runner.py's `Backtest`)."""

    @property
    def strategy(self) -> object: ...
    @property
    def risk(self) -> RiskManager: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def book(self) -> OrderBook: ...
    @property
    def contracts(self) -> dict[str, Contract]: ...
    @property
    def marks(self) -> dict[str, Decimal]: ...


def _level(price: Decimal | None) -> Decimal:
    return Decimal(0) if price is None else price  # a market order: no level


def skipper_of(runner: Backtest) -> Skipper | None:
    """A skipper for this backtest, or None: its strategy must say at which prices its bars act, and the Rust
    extension must be there."""
    acts = getattr(runner.strategy, "bar_triggers", None)
    ext = native.module()
    advance = getattr(ext, "backtest_advance", None) if ext is not None else None
    if acts is None or advance is None:
        return None
    return Skipper(runner, acts, advance)


class Skipper:
    def __init__(
        self, runner: Backtest, acts: Callable[[str], list[tuple[bool, float]] | None], advance: Callable[..., Any]
    ) -> None:
        self.runner = runner
        self.acts = acts
        self._advance = advance

    def _guard(self, day: TradingDay) -> tuple[Any, ...]:
        r, ledger = self.runner.risk, self.runner.ledger
        st, p = r.state, r.profile
        start = r.starting_balance
        target_pending = (
            p.profit_target is not None
            and start is not None
            and ledger.balance >= start + p.profit_target
            and not st.goal_met
        )
        floor = r.floor
        cap_live = p.daily_profit_cap is not None and not st.cap_tripped and st.kill_mode is KillMode.OFF
        return (
            float(ledger.balance - ledger.day_start_balance),
            float(ledger.balance),
            None if p.daily_loss_limit is None else float(p.daily_loss_limit),
            None if floor is None else float(floor),
            float(p.daily_profit_cap) if cap_live and p.daily_profit_cap is not None else None,
            st.trading_date != day.date or target_pending,  # the mark would roll the day, or trip the target
            st.kill_mode is KillMode.HALTED,
        )

    def advance(
        self,
        day: TradingDay,
        symbols: list[str],
        day_bars: dict[str, tuple[BarArrays, int, int]],
        ptr: dict[str, int],
        until: int,
    ) -> int | None:
        """Skip the bars before `until` (UTC ns) that change nothing, moving `ptr` past them and setting
        the marks they would have set; returns the open time of the next bar to replay, None when every
        bar before `until` was skipped."""
        rn = self.runner
        lanes = []
        for sym in symbols:
            a, _, hi = day_bars[sym]
            c = rn.contracts[sym]
            orders = [
                (
                    KINDS.get(e.order.type, "market"),  # an order type the core does not know: never skipped
                    e.order.side is Side.BUY,
                    float(_level(e.order.stop_price if e.order.type is OrderType.STOP else e.order.limit_price)),
                    ns(e.active_from),
                )
                for e in rn.book.working(c.id)
            ]
            triggers = self.acts(sym)
            # A bar trigger is a level a bar must reach, as a stop order's: buy high >= level, sell low <= level.
            orders += [("stop", buy, level, 0) for buy, level in triggers or ()]
            lots = [(float(lot.price), lot.qty) for lot in rn.ledger.lots.get(c.id, [])]
            mark = rn.marks.get(c.id)
            money = (float(c.tick_size), float(c.tick_value), None if mark is None else float(mark))
            lanes.append((a.ts, a.high, a.low, a.close, ptr[sym], hi, orders, triggers is None, lots, money))
        stop, moved = self._advance(lanes, self._guard(day), until)
        for sym, (nxt, marked) in zip(symbols, moved, strict=True):
            ptr[sym] = nxt
            if marked is not None:
                rn.marks[rn.contracts[sym].id] = to_decimal(float(day_bars[sym][0].close[marked]))
        return stop if stop is None else int(stop)
