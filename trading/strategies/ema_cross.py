"""A small trend follower through the same interface: EMA cross on N-minute closes.

Long when the fast EMA crosses above the slow one, short when it crosses below; one position at a
time with a native bracket (stop and target in ticks), at most `max_trades_per_day`, entries in
[first_entry_time, last_entry_time), flat at the flatten event. The EMAs are seeded at the open
from three days of history (one query a day), then updated from the 1-minute bar that closes each
N-minute bucket: cheap enough to replay a year in seconds. A missing closing bar skips that update.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from trading import notifications
from trading.calendar import TradingDay, to_ny, trading_day
from trading.config import EmaCrossSettings
from trading.domain import Bar, Bracket, NotificationKind, Order, OrderRequest, OrderType, Side
from trading.marketdata.aggregation import aggregate_bars
from trading.marketdata.levels import NS, ema
from trading.strategies.base import JSON, SessionEvent, Strategy

SEED_DAYS = timedelta(days=3)


@dataclass
class SymbolState:
    fast: float | None = None
    slow: float | None = None
    trades: int = 0


class EmaCross(Strategy[EmaCrossSettings]):
    name: ClassVar[str] = "ema_cross"

    @classmethod
    def config_type(cls) -> type[EmaCrossSettings]:
        return EmaCrossSettings

    def __init__(self, config: EmaCrossSettings, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.day: TradingDay | None = None
        self.symbols_state: dict[str, SymbolState] = {}

    def on_save(self) -> JSON:
        return {
            "date": self.day.date.isoformat() if self.day else None,
            "symbols": {s: asdict(v) for s, v in self.symbols_state.items()},
        }

    def on_load(self, state: JSON) -> None:
        self.day = trading_day(date.fromisoformat(state["date"])) if state.get("date") else None
        self.symbols_state = {s: SymbolState(**v) for s, v in state.get("symbols", {}).items()}

    def _seed(self, symbol: str, day: TradingDay) -> SymbolState:
        c = self.config
        period = c.timeframe_minutes * 60 * NS
        hist = aggregate_bars(self.ctx.bars(symbol, day.rth_open - SEED_DAYS, day.rth_open), period, 0)
        closes = [float(x) for x in hist.close]
        st = self.symbols_state.get(symbol) or SymbolState()
        if len(closes) >= c.slow:
            st.fast, st.slow = ema(closes, c.fast)[-1], ema(closes, c.slow)[-1]
        return st

    def on_session_event(self, event: SessionEvent, day: TradingDay) -> None:
        if event is SessionEvent.OPEN:
            if self.day is None or self.day.date != day.date:
                self.symbols_state = {}
            self.day = day
            for symbol in self.config.symbols:
                self.symbols_state[symbol] = self._seed(symbol, day)
        elif event is SessionEvent.FLATTEN:
            for order in self.ctx.orders():
                if order.status.is_working:
                    self.ctx.cancel(order)
            for symbol in self.config.symbols:
                pos = self.ctx.position(symbol)
                if pos is not None and pos.size:
                    side = Side.SELL if pos.side.value == "long" else Side.BUY
                    self._propose(symbol, side, pos.size, f"{self.name}:{symbol}:flatten:{day.date}", None, "flatten")
        elif event is SessionEvent.SUMMARY:
            notes = {
                s: f"{v.trades} trade(s); EMA fast {v.fast:.2f}, slow {v.slow:.2f}" if v.fast is not None and v.slow
                is not None else f"{v.trades} trade(s); EMAs not seeded" for s, v in self.symbols_state.items()
            }  # fmt: skip
            summary = notifications.strategy_summary(self.name, day.date.isoformat(), [], notes, self.on_save())
            self.ctx.notify(NotificationKind.SUMMARY, summary)

    def _propose(self, symbol: str, side: Side, size: int, tag: str, bracket: Bracket | None, why: str) -> None:
        self.ctx.propose(
            OrderRequest(
                account_id=self.ctx.account().account_id,
                contract_id=self.ctx.contract(symbol).id,
                side=side,
                type=OrderType.MARKET,
                size=size,
                custom_tag=tag,
                bracket=bracket,
                reason=why,
            )
        )

    def on_bar(self, symbol: str, bar: Bar) -> None:
        c = self.config
        st = self.symbols_state.get(symbol)
        end = bar.start + timedelta(minutes=1)
        if st is None or self.day is None or int(end.timestamp()) % (c.timeframe_minutes * 60):
            return
        if st.fast is None or st.slow is None:
            return
        a_fast, a_slow = 2.0 / (c.fast + 1), 2.0 / (c.slow + 1)
        was_above = st.fast > st.slow
        st.fast += a_fast * (bar.close - st.fast)
        st.slow += a_slow * (bar.close - st.slow)
        now_above = st.fast > st.slow
        if was_above == now_above:
            return
        local = to_ny(end).time()
        if not (c.first_entry_time <= local < c.last_entry_time) or st.trades >= c.max_trades_per_day:
            return
        if self.ctx.position(symbol) is not None or any(o.status.is_working for o in self._entries(symbol)):
            return
        side = Side.BUY if now_above else Side.SELL
        st.trades += 1
        tag = f"{self.name}:{symbol}:{self.day.date}:{st.trades}"
        bracket = Bracket(stop_loss_ticks=-side.sign * c.stop_ticks, take_profit_ticks=side.sign * c.target_ticks)
        self._propose(
            symbol, side, c.quantity, tag, bracket, f"EMA{c.fast} crossed {'above' if now_above else 'below'}"
        )

    def _entries(self, symbol: str) -> list[Order]:
        cid = self.ctx.contract(symbol).id
        return [o for o in self.ctx.orders() if o.contract_id == cid and o.parent_id is None]
