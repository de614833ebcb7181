"""The overnight-range breakout (/work/shared/overnight-range.md), rule by rule.

Choices where the spec leaves room (each also in the report):
- ATRD needs each of the 15 CME sessions before D's session to have at least one bar; a session
  without data counts as missing, so the warm-up and a data hole both block the day (said so).
- ATR5 needs all 15 five-minute bars of [08:15, 09:30); with fewer the day is blocked ("ATR5
  unavailable"). The 09:25 card shows a provisional ATR5 over [08:10, 09:25).
- No chase compares the context's last price at placement (backtest: the 09:30 bar's open). When
  no price is known, nothing is skipped.
- A filter that cannot be evaluated (gap without a previous close) blocks the day when enabled.
- Breakeven counts the bar in which the entry filled (its favourable extreme is a real print).

Longer than 500 lines on purpose: one strategy, its spec rule by rule (levels, filters, the card,
entries, brackets, breakeven, flatten, state); the indicator maths it shares lives in
`trading/marketdata/levels.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

from trading import notifications
from trading.calendar import TradingDay, open_minutes, previous_trading_day, sessions_before, trading_day
from trading.config import OvernightRangeSettings
from trading.domain import (
    Bar,
    Bracket,
    Contract,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Rounding,
    Side,
    snap_to_tick,
    to_decimal,
)
from trading.marketdata.levels import (
    atr,
    five_minute_bars,
    fraction_to_decimal,
    overnight_range,
    round_half_away,
    session_bars,
    slice_bars,
)
from trading.strategies.base import JSON, SessionEvent, Strategy

ATR5_FROM = time(8, 15)
ATR5_PROVISIONAL_FROM = time(8, 10)
DAILY_LOOKBACK_PAD = timedelta(days=1)


def custom_tag(strategy: str, symbol: str, side: Side, day: date) -> str:
    """Deterministic per (strategy, symbol, side, trading date): a restart re-derives the same tag,
    so the broker (and execution's idempotency check) refuses a second placement."""
    return f"{strategy}:{symbol}:{'long' if side is Side.BUY else 'short'}:{day.isoformat()}"


@dataclass
class SideState:
    side: str  # "buy" | "sell"
    tag: str
    level: str  # entry stop price
    stop_ticks: int
    target_ticks: int
    status: str = "planned"  # planned | skipped | refused | working | filled | cancelled | closed
    note: str = ""
    order_id: int | None = None
    fill_price: str | None = None
    breakeven_done: bool = False
    exit_price: str | None = None


@dataclass
class SymbolDay:
    levels: dict[str, str | None] = field(default_factory=dict)
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: str | None = None
    sides: dict[str, SideState] = field(default_factory=dict)
    flattened: bool = False


@dataclass
class DayState:
    date: str
    opened: bool = False  # the open job ran (entries placed or the day decided)
    symbols: dict[str, SymbolDay] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Levels:
    onh: Decimal | None
    onl: Decimal | None
    atr5: Fraction | None
    atrd: Fraction | None
    present: int
    expected: int
    missing_sessions: int

    def as_json(self, tick_size: Decimal | None = None) -> dict[str, str | None]:
        def show(x: Decimal | Fraction | None) -> str | None:
            if x is None:
                return None
            if isinstance(x, Fraction):
                return str(fraction_to_decimal(x))
            return str(snap_to_tick(x, tick_size) if tick_size else x)  # on the grid, like order prices

        return {
            "onh": show(self.onh),
            "onl": show(self.onl),
            "range": show(self.onh - self.onl) if self.onh is not None and self.onl is not None else None,
            "atr5": show(self.atr5),
            "atrd": show(self.atrd),
            "bars_present": str(self.present),
            "bars_expected": str(self.expected),
            "missing_sessions": str(self.missing_sessions),
        }


class OvernightRange(Strategy[OvernightRangeSettings]):
    name: ClassVar[str] = "overnight_range"

    @classmethod
    def config_type(cls) -> type[OvernightRangeSettings]:
        return OvernightRangeSettings

    # Other implementations by `impl` (trading/strategies/__init__.py registers the Rust one, which
    # lives in native.py and subclasses this class: registering avoids an import circle).
    implementations: ClassVar[dict[str, type[OvernightRange]]] = {}

    def __new__(cls, config: OvernightRangeSettings, ctx: Any) -> OvernightRange:
        """`impl = "rust"` builds the Rust implementation wherever the strategy is built: the engine,
        the dry run and the backtest need not know there are two."""
        impl = getattr(config, "impl", "python")
        if cls is OvernightRange and impl != "python":
            return super().__new__(cls.implementations[impl])
        return super().__new__(cls)

    def __init__(self, config: OvernightRangeSettings, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.state: DayState | None = None
        self._watch: set[str] = set()  # symbols with a filled entry whose breakeven has not moved yet

    # ------------------------------------------------------------------ persistence
    def on_save(self) -> JSON:
        return asdict(self.state) if self.state else {}

    def on_load(self, state: JSON) -> None:
        if not state:
            self.state = None
            return
        symbols = {
            sym: SymbolDay(
                levels=dict(sd["levels"]),
                filters=dict(sd["filters"]),
                blocked=sd["blocked"],
                sides={k: SideState(**v) for k, v in sd["sides"].items()},
                flattened=sd["flattened"],
            )
            for sym, sd in state["symbols"].items()
        }
        self.state = DayState(date=state["date"], opened=state["opened"], symbols=symbols)
        self._rewatch()

    def _day_state(self, day: TradingDay) -> DayState:
        if self.state is None or self.state.date != day.date.isoformat():
            self.state = DayState(date=day.date.isoformat())
            self._watch = set()
        return self.state

    def _rewatch(self) -> None:
        enabled = self.config.breakeven_enabled and self.state is not None
        self._watch = {s for s in (self.state.symbols if self.state else {}) if enabled and self._needs_breakeven(s)}

    # ------------------------------------------------------------------ levels
    def _trading_day(self, d: date) -> TradingDay:
        c = self.config
        return trading_day(d, c.window_end, c.window_start, c.flatten, c.flatten_minutes_before_close)

    def levels(self, symbol: str, day: TradingDay, until: datetime, atr5_from: time = ATR5_FROM) -> Levels:
        """Levels from the bars known at `until` (the open for final levels, 09:25 for the card)."""
        period = self.config.atr_period
        sessions = sessions_before(day.date, period + 1)
        first = sessions[0].open if sessions else day.window_start
        history = self.ctx.bars(symbol, first - DAILY_LOOKBACK_PAD, until)
        window = slice_bars(history, day.window_start, min(until, day.window_end))
        rng = overnight_range(window)
        five = five_minute_bars(slice_bars(history, day.at(atr5_from), until))
        daily, missing = session_bars(history, sessions)
        missing += period + 1 - len(sessions)
        return Levels(
            onh=rng.high if rng else None,
            onl=rng.low if rng else None,
            atr5=atr(five, period) if len(five.ts) >= period + 1 else None,
            atrd=atr(daily, period) if missing == 0 else None,
            present=len(window.ts),
            expected=open_minutes(day.window_start, min(until, day.window_end)),
            missing_sessions=missing,
        )

    def chart_levels(self, symbol: str, day: TradingDay, until: datetime) -> list[tuple[str, Decimal]]:
        """The lines of the range chart, named and priced as on the range card: ONH, ONL and the two
        entries, from the bars known at `until`."""
        lv = self.levels(symbol, day, until)
        if lv.onh is None or lv.onl is None:
            return []
        (_, long_level), (_, short_level) = entry_levels(self.ctx.contract(symbol), lv.onh, lv.onl, self.config.offset)
        return [("ONH", lv.onh), ("ONL", lv.onl), ("Long entry", long_level), ("Short entry", short_level)]

    def _previous_close(self, symbol: str, day: TradingDay) -> Decimal | None:
        prev = self._trading_day(previous_trading_day(day.date))
        bars = self.ctx.bars(symbol, prev.rth_open, prev.rth_close)
        return to_decimal(float(bars.close[-1])) if len(bars.ts) else None

    def _filters(
        self, symbol: str, day: TradingDay, lv: Levels, open_price: Decimal | None
    ) -> tuple[dict[str, dict[str, Any]], str | None]:
        """Every filter's verdict; the first blocking reason (or None)."""
        c = self.config
        out: dict[str, dict[str, Any]] = {}
        reasons: list[str] = []

        def verdict(name: str, enabled: bool, value: Any, blocks: bool, why: str) -> None:
            out[name] = {
                "enabled": enabled,
                "value": None if value is None else str(value),
                "blocks": enabled and blocks,
            }
            if enabled and blocks:
                reasons.append(why)

        ratio = Decimal(lv.present) / Decimal(lv.expected) if lv.expected else Decimal(0)
        verdict(
            "data_quality",
            c.data_quality_filter,
            ratio.quantize(Decimal("0.0001")),
            Fraction(lv.present, lv.expected or 1) < Fraction(c.data_quality_min),  # exact, not the rounded ratio
            f"data quality: {lv.present} of {lv.expected} expected overnight minutes have bars "
            f"({ratio:.1%} < {c.data_quality_min:.0%}); the range is not trustworthy",
        )
        rng = lv.onh - lv.onl if lv.onh is not None and lv.onl is not None else None
        share = rng / lv.onl if rng is not None and lv.onl is not None and lv.onl > 0 else None
        verdict(
            "plausibility",
            c.plausible_range_max > 0,
            None if share is None else share.quantize(Decimal("0.0001")),
            rng is not None and (share is None or rng < 0 or share > c.plausible_range_max),
            f"implausible levels: the overnight range {rng} points is "
            + ("not a range" if share is None or rng is None or rng < 0 else f"{share:.1%} of the price")
            + f" (more than {c.plausible_range_max:.0%}, wider than the exchange lets the market move "
            "overnight); check the bar data",
        )
        verdict(
            "range",
            c.range_filter,
            rng,
            rng is None or not (c.range_min <= rng <= c.range_max),
            f"range {rng} points outside [{c.range_min}, {c.range_max}]",
        )
        prev_close = self._previous_close(symbol, day)
        gap = abs(open_price - prev_close) if open_price is not None and prev_close is not None else None
        verdict(
            "gap",
            c.gap_filter,
            gap,
            gap is None or gap > c.gap_max,
            f"gap {gap} points > {c.gap_max}" if gap is not None else "gap unknown (no previous close or open)",
        )
        a5 = fraction_to_decimal(lv.atr5, 4) if lv.atr5 is not None else None
        verdict(
            "volatility",
            c.volatility_filter,
            a5,
            lv.atr5 is None or not (Fraction(c.atr5_min) <= lv.atr5 <= Fraction(c.atr5_max)),  # exact ATR5
            f"ATR5 {a5} outside [{c.atr5_min}, {c.atr5_max}]",
        )
        used = self.ctx.account().daily_loss_used
        verdict(
            "daily_loss",
            c.daily_loss_filter,
            used.quantize(Decimal("0.0001")),
            used >= c.daily_loss_used_max,
            f"today's loss has used {used:.0%} of the daily loss limit (max {c.daily_loss_used_max:.0%})",
        )
        return out, (reasons[0] if reasons else None)

    # ------------------------------------------------------------------ session events
    def on_session_event(self, event: SessionEvent, day: TradingDay) -> None:
        st = self._day_state(day)
        if event is SessionEvent.PRE_OPEN:
            self._range_card(day)
        elif event is SessionEvent.OPEN:
            if not st.opened:
                self._open(day, st)
            else:  # the open job again (resumed after a restart): send what was decided and is missing
                self._resend_missing(day, st)
        elif event is SessionEvent.LAST_ENTRY:
            self._cancel_entries(st, "no new entries after the last entry time")
        elif event is SessionEvent.FLATTEN:
            self._flatten(day, st)
        elif event is SessionEvent.SUMMARY:
            self._summary(st)

    def _range_card(self, day: TradingDay) -> None:
        now = self.ctx.now()
        for symbol in self.config.symbols:
            lv = self.levels(symbol, day, now, ATR5_PROVISIONAL_FROM)
            warm = lv.missing_sessions == 0
            # Provisional verdicts: the gap uses the last price in place of the 09:30 open.
            filters, blocked = self._filters(symbol, day, lv, self.ctx.last_price(symbol))
            contract = self.ctx.contract(symbol)
            self.ctx.notify(
                NotificationKind.STRATEGY,
                notifications.range_card(
                    self.name, contract, day.date.isoformat(), card="range", as_of=now,
                    levels=lv.as_json(contract.tick_size), filters=filters, blocked=blocked,
                    sides=_planned(self.config, contract, lv),
                    warmup=None if warm else f"warm-up: {lv.missing_sessions} of the "
                    f"{self.config.atr_period + 1} daily sessions needed for ATRD are missing; no trade",
                ),
            )  # fmt: skip

    def _open(self, day: TradingDay, st: DayState) -> None:
        c = self.config
        now = self.ctx.now()
        st.opened = True
        placed = self._entries_at_broker(day)
        # An open that placed some entries before its process died was started in time: it is finished.
        if now > day.rth_open + timedelta(minutes=c.open_grace_minutes) and not placed:
            for symbol in c.symbols:
                sd = st.symbols.setdefault(symbol, SymbolDay())
                sd.blocked = (
                    f"started {now - day.rth_open} after the open, past the {c.open_grace_minutes}-minute grace"
                )
                self._notify_day(day, symbol, sd)
            return
        for symbol in c.symbols:
            sd = st.symbols.setdefault(symbol, SymbolDay())
            self._open_symbol(day, symbol, sd, placed)
            self._notify_day(day, symbol, sd)
        self._rewatch()

    def _entries_at_broker(self, day: TradingDay) -> dict[str, Order]:
        """Today's entries the broker already has, by their deterministic tag (placed by an open job
        that was cut short): what is missing is derived from these, never from saved state alone."""
        tags = {custom_tag(self.name, sym, side, day.date) for sym in self.config.symbols for side in Side}
        return {o.custom_tag: o for o in self._own_orders() if o.custom_tag in tags and o.id is not None}

    def _resend_missing(self, day: TradingDay, st: DayState) -> None:
        placed = self._entries_at_broker(day)
        for symbol, sd in st.symbols.items():
            for ss in sd.sides.values():
                if ss.status == "working" and ss.tag not in placed:
                    self.ctx.propose(self._entry_request(symbol, ss))

    def _entry_request(self, symbol: str, ss: SideState) -> OrderRequest:
        side = Side(ss.side)
        return OrderRequest(
            account_id=self.ctx.account().account_id,
            contract_id=self.ctx.contract(symbol).id,
            side=side,
            type=OrderType.STOP,
            size=self.config.quantity,
            custom_tag=ss.tag,
            stop_price=Decimal(ss.level),
            bracket=Bracket(stop_loss_ticks=ss.stop_ticks, take_profit_ticks=ss.target_ticks),
            reason=f"overnight {'high' if side is Side.BUY else 'low'} breakout",
        )

    def _open_symbol(self, day: TradingDay, symbol: str, sd: SymbolDay, placed: Mapping[str, Order]) -> None:
        c = self.config
        contract = self.ctx.contract(symbol)
        lv = self.levels(symbol, day, day.window_end)
        sd.levels = lv.as_json(contract.tick_size)
        last = self.ctx.last_price(symbol)
        sd.filters, blocked = self._filters(symbol, day, lv, last)
        if lv.missing_sessions:
            blocked = (
                f"warm-up: {lv.missing_sessions} of the {c.atr_period + 1} daily sessions needed for ATRD "
                "are missing; no trade"
            )
        elif lv.onh is None or lv.onl is None:
            blocked = blocked or "no overnight bars"
        elif lv.atr5 is None:
            blocked = blocked or "ATR5 unavailable: fewer than 15 five-minute bars in [08:15, 09:30)"
        if blocked:
            sd.blocked = blocked
            return
        assert lv.onh is not None and lv.onl is not None and lv.atr5 is not None and lv.atrd is not None
        tick = Fraction(contract.tick_size)
        stop_ticks = max(c.min_stop_ticks, round_half_away(Fraction(c.stop_atr_mult) * lv.atr5 / tick))
        target_ticks = round_half_away(Fraction(c.target_atrd_mult) * lv.atrd / tick)
        for side, level in entry_levels(contract, lv.onh, lv.onl, c.offset):
            tag = custom_tag(self.name, symbol, side, day.date)
            ss = SideState(
                side=side.value,
                tag=tag,
                level=str(level),
                stop_ticks=-side.sign * stop_ticks,
                target_ticks=side.sign * target_ticks,
            )
            sd.sides[side.value] = ss
            if tag in placed:
                _adopt(ss, placed[tag])
        filled = [ss for ss in sd.sides.values() if ss.status == "filled"]
        for ss in sd.sides.values():
            level, side = Decimal(ss.level), Side(ss.side)
            if ss.tag in placed:
                if filled and c.cancel_opposite_on_fill and ss.status == "working":
                    self.ctx.cancel(placed[ss.tag])
                    ss.status, ss.note = "cancelled", f"entry OCO: the {filled[0].side} entry filled"
                continue
            if filled and c.cancel_opposite_on_fill:
                ss.status, ss.note = "cancelled", f"entry OCO: the {filled[0].side} entry filled; not placed"
                continue
            if last is not None and (last >= level if side is Side.BUY else last <= level):
                ss.status = "skipped"
                ss.note = f"no chase: last price {last} is already at or beyond the entry {level}"
                continue
            decision = self.ctx.propose(self._entry_request(symbol, ss))
            if decision.approved:
                ss.status = "working"
                if decision.order is not None:
                    ss.order_id = decision.order.id
            else:
                ss.status = "refused"
                ss.note = decision.reason

    def _notify_day(self, day: TradingDay, symbol: str, sd: SymbolDay) -> None:
        q = self.config.quantity
        sides = {
            k: notifications.side_plan(
                v.side, v.level, q, v.stop_ticks, v.target_ticks, status=v.status, note=v.note,
                fill_price=v.fill_price, exit_price=v.exit_price,
            )
            for k, v in sd.sides.items()
        }  # fmt: skip
        self.ctx.notify(
            NotificationKind.STRATEGY,
            notifications.range_card(
                self.name, self.ctx.contract(symbol), day.date.isoformat(), card="open", as_of=self.ctx.now(),
                levels=sd.levels, filters=sd.filters, blocked=sd.blocked, sides=sides,
            ),
        )  # fmt: skip

    def _own_orders(self) -> list[Order]:
        return self.ctx.orders()

    def _cancel_entries(self, st: DayState, why: str) -> None:
        for sd in st.symbols.values():
            for ss in sd.sides.values():
                if ss.status != "working":
                    continue
                for order in self._own_orders():
                    if order.custom_tag == ss.tag and order.status.is_working:
                        self.ctx.cancel(order)
                ss.status = "cancelled"
                ss.note = why

    def _flatten(self, day: TradingDay, st: DayState) -> None:
        self._cancel_entries(st, "flatten time")
        for order in self._own_orders():
            if order.status.is_working:
                self.ctx.cancel(order)
        for symbol in self.config.symbols:
            sd = st.symbols.setdefault(symbol, SymbolDay())
            pos = self.ctx.position(symbol)
            if pos is None or pos.size == 0 or sd.flattened:
                continue
            sd.flattened = True
            side = Side.SELL if pos.side.value == "long" else Side.BUY
            self.ctx.propose(
                OrderRequest(
                    account_id=self.ctx.account().account_id,
                    contract_id=self.ctx.contract(symbol).id,
                    side=side,
                    type=OrderType.MARKET,
                    size=pos.size,
                    custom_tag=f"{self.name}:{symbol}:flatten:{day.date.isoformat()}",
                    reason="flatten time",
                )
            )

    def _summary(self, st: DayState) -> None:
        trades: list[notifications.TradeRow] = []
        notes: dict[str, str] = {}
        for symbol, sd in st.symbols.items():
            contract = self.ctx.contract(symbol)
            for ss in sd.sides.values():
                if ss.fill_price is not None:  # P&L gross: ticks x tick value x quantity
                    q = self.config.quantity
                    trades.append(notifications.trade_row(contract, ss.tag, ss.side, q, ss.status, ss.fill_price,
                                                          ss.exit_price))  # fmt: skip
            unfilled = [f"{ss.side} {ss.status}" + (f" ({ss.note})" if ss.note else "")
                        for ss in sd.sides.values() if ss.fill_price is None]  # fmt: skip
            if sd.blocked or unfilled:
                notes[symbol] = f"no trade: {sd.blocked}" if sd.blocked else "; ".join(unfilled)
        symbols = {s: asdict(sd) for s, sd in st.symbols.items()}
        summary = notifications.strategy_summary(self.name, st.date, trades, notes, symbols)
        self.ctx.notify(NotificationKind.SUMMARY, summary)

    # ------------------------------------------------------------------ orders and fills
    def _side_of(self, order: Order) -> tuple[str, SymbolDay, SideState] | None:
        if self.state is None:
            return None
        for symbol, sd in self.state.symbols.items():
            for ss in sd.sides.values():
                if order.custom_tag == ss.tag or (ss.order_id is not None and order.id == ss.order_id):
                    return symbol, sd, ss
        return None

    def _entry_of_child(self, order: Order) -> tuple[str, SymbolDay, SideState] | None:
        if self.state is None or order.parent_id is None:
            return None
        for symbol, sd in self.state.symbols.items():
            for ss in sd.sides.values():
                if ss.order_id == order.parent_id:
                    return symbol, sd, ss
        return None

    def _entry_of_flatten(self, order: Order) -> tuple[str, SymbolDay, SideState] | None:
        """The filled entry a flatten order (tag `name:SYMBOL:flatten:date`) closes, with its symbol."""
        head, sep, _ = (order.custom_tag or "").partition(":flatten:")
        name, _, symbol = head.partition(":")
        if self.state is None or not sep or name != self.name:
            return None
        sd = self.state.symbols.get(symbol)
        if sd is None:
            return None
        filled = [ss for ss in sd.sides.values() if ss.status == "filled"]
        return (symbol, sd, filled[-1]) if filled else None

    def on_order_update(self, order: Order) -> None:
        found = self._side_of(order)
        if found is None:
            return
        _, _, ss = found
        if order.id is not None:
            ss.order_id = order.id
        if order.status.value in ("cancelled", "expired", "rejected") and ss.status == "working":
            ss.status = "cancelled"

    def on_fill(self, order: Order, price: Decimal, size: int, at: datetime) -> None:
        found = self._side_of(order)
        if found is not None:
            symbol, sd, ss = found
            ss.status = "filled"
            ss.fill_price = str(price)
            if order.id is not None:
                ss.order_id = order.id
            if self.config.cancel_opposite_on_fill:
                for other in sd.sides.values():
                    if other is ss or other.status != "working":
                        continue
                    for o in self._own_orders():
                        if o.custom_tag == other.tag and o.status.is_working:
                            self.ctx.cancel(o)
                    other.status = "cancelled"
                    other.note = f"entry OCO: the {ss.side} entry filled"
            self.ctx.notify(
                NotificationKind.ENTRY_FILL,
                notifications.strategy_fill(self.name, self.ctx.contract(symbol), exit_=False, side=ss.side,
                                            price=price, size=size, tag=ss.tag, at=at),
            )  # fmt: skip
            self._rewatch()
            return
        entry = self._entry_of_child(order) or self._entry_of_flatten(order)
        if entry is not None:
            symbol, _, ss = entry
            ss.status = "closed"
            ss.exit_price = str(price)
            entry_price = Decimal(ss.fill_price) if ss.fill_price is not None else None
            self.ctx.notify(
                NotificationKind.EXIT_FILL,
                notifications.strategy_fill(self.name, self.ctx.contract(symbol), exit_=True, side=ss.side,
                                            price=price, size=size, tag=order.custom_tag, at=at,
                                            entry_price=entry_price),
            )  # fmt: skip
            self._rewatch()

    # ------------------------------------------------------------------ breakeven
    def _breakeven(self, symbol: str, favourable_long: Decimal, favourable_short: Decimal) -> None:
        if not self.config.breakeven_enabled or self.state is None:
            return
        sd = self.state.symbols.get(symbol)
        if sd is None:
            return
        for ss in sd.sides.values():
            if ss.status != "filled" or ss.breakeven_done or ss.fill_price is None:
                continue
            entry = Decimal(ss.fill_price)
            gain = favourable_long - entry if ss.side == "buy" else entry - favourable_short
            if gain < self.config.breakeven_points:
                continue
            for order in self._own_orders():
                if order.parent_id == ss.order_id and order.type is OrderType.STOP and order.status.is_working:
                    self.ctx.modify_stop(order, entry)
                    ss.breakeven_done = True
        self._rewatch()

    def _needs_breakeven(self, symbol: str) -> bool:
        sd = self.state.symbols.get(symbol) if self.state else None
        return sd is not None and any(ss.status == "filled" and not ss.breakeven_done for ss in sd.sides.values())

    def on_bar(self, symbol: str, bar: Bar) -> None:
        # Hot path (every bar of a backtest): a set lookup unless a position awaits its breakeven.
        if symbol not in self._watch:
            return
        self._breakeven(symbol, to_decimal(bar.high), to_decimal(bar.low))

    def on_quote(self, symbol: str, quote: Quote) -> None:
        if quote.last is not None and symbol in self._watch:
            self._breakeven(symbol, quote.last, quote.last)


def entry_levels(
    contract: Contract, onh: Decimal, onl: Decimal, offset: Decimal
) -> tuple[tuple[Side, Decimal], tuple[Side, Decimal]]:
    """The buy stop above the range and the sell stop below it, on the contract's tick grid, rounded
    away from the range: the one rule the orders, the range card and the charts all use."""
    return (
        (Side.BUY, contract.snap(onh + offset, Rounding.UP)),
        (Side.SELL, contract.snap(onl - offset, Rounding.DOWN)),
    )


def _planned(c: OvernightRangeSettings, contract: Contract, lv: Levels) -> dict[str, notifications.SidePlan]:
    """The entries the levels known so far give (the 09:25 card's preview: the open decides)."""
    if lv.onh is None or lv.onl is None:
        return {}
    tick = Fraction(contract.tick_size)
    stop = None
    if lv.atr5 is not None:
        stop = max(c.min_stop_ticks, round_half_away(Fraction(c.stop_atr_mult) * lv.atr5 / tick))
    target = None if lv.atrd is None else round_half_away(Fraction(c.target_atrd_mult) * lv.atrd / tick)
    levels = entry_levels(contract, lv.onh, lv.onl, c.offset)
    return {
        side.value: notifications.side_plan(
            side.value, level, c.quantity,
            None if stop is None else -side.sign * stop, None if target is None else side.sign * target,
        )
        for side, level in levels
    }  # fmt: skip


def _adopt(ss: SideState, order: Order) -> None:
    """Take an entry the broker already has (placed before a restart) as this side's order."""
    ss.order_id = order.id
    if order.stop_price is not None:
        ss.level = str(order.stop_price)
    if order.status.is_working:
        ss.status = "working"
    elif order.status is OrderStatus.FILLED:
        ss.status = "filled"
        ss.fill_price = None if order.filled_price is None else str(order.filled_price)
    else:
        ss.status, ss.note = "cancelled", f"the broker has it {order.status.value}"


def from_settings(raw: Mapping[str, Any] | OvernightRangeSettings, ctx: Any) -> OvernightRange:
    return OvernightRange(OvernightRange.config_from(raw), ctx)
