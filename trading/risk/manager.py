"""Limits and the firm's account rules every proposed order passes before execution, and the kill switch.

Risk is plain, synchronous and clock-free: the caller (engine or backtest) hands it the order, a
snapshot of the account's exposure and the time. It answers with a `Decision` (refusals carry a
sentence a trader can read) and, on `mark`, with the kill-switch trips it decided. Acting on a trip
(cancel working orders, flatten) is the caller's job: risk never touches the broker.

The rules come from the account's rule profile (trading/rule_profiles.py; "custom" takes its numbers
from `[risk]`); `[risk]`'s own limits (order size, per-symbol and total positions, trading hours, the
price band) apply to every profile.

Choices:
- An order that only reduces an open position (opposite side, size <= position) is always allowed,
  even when halted, outside trading hours, past the flat time or a loss limit: flattening must never
  be refused.
- Position limits count the worst case: the position plus every working order on the same side. The
  profile's contract cap counts every contract that way, micros as `1 / micros_per_lot` contract.
- Hitting the daily loss limit trips HALTED automatically (a soft breach); that trip clears at the next
  trading day (the 18:00 ET reopen). The maximum loss limit, the profit target and manual trips stay
  until a trader resets them; the daily profit cap's REDUCE-ONLY clears at the next trading day.
- The maximum loss floor trails the END-OF-DAY balance high: it moves only at the trading-day roll,
  where the finished day is recorded (date, realized P&L, end balance), never intraday, and never
  above `starting_balance + max_loss_lock`. Equity (balance + open P&L) at or below it halts.
- The scaling plan's cap is set from the last finished day's end-of-day profit: at the roll, so it is
  never raised intraday.
- A price band guards against fat fingers: a priced order (limit, stop, trail) further from the
  contract's last trade than `price_band_ticks` ticks (or, wider, `price_band_atr` x the ATR of the
  last 1-minute bars) is refused, even when it would reduce a position: a protective stop at an
  absurd price protects nothing. A market order has no price and passes.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from trading.calendar import NotATradingDay, flatten_time, is_trading_day, ny, session_at, to_ny
from trading.config import RiskSettings
from trading.domain import Decision, OrderRequest
from trading.risk.exposure import Exposure, PriceRef, WorkingOrder
from trading.risk.native import build as rust_check
from trading.risk.state import DayRecord, KillMode, KillSwitchTripped, RiskState, RiskStateStore
from trading.risk.window import in_window, past_flat
from trading.rule_profiles import RuleProfile, is_micro, resolve

log = logging.getLogger(__name__)

# Always refused, band or not. With no last trade to measure a band from, only these and prices <= 0
# are refused: refusing every priced order would block trading until the first quote arrives.
MAX_SANE_PRICE = Decimal("1e9")


def profile_of(settings: RiskSettings, account_name: str = "") -> RuleProfile:
    """The profile `[risk]` chooses for this account (auto: by its name, logged)."""
    profile, how = resolve(
        settings.profiles_path, settings.profile, settings.overrides, settings.custom_numbers(), account_name
    )
    if settings.profile != profile.id:  # auto: say what it found (before the account is known: quietly)
        log.log(logging.INFO if account_name else logging.DEBUG, "rule profile: %s", how)
    return profile


class RiskManager:
    def __init__(
        self, settings: RiskSettings, state: RiskState | None = None, profile: RuleProfile | None = None
    ) -> None:
        self._settings = settings
        self.profile = profile or profile_of(settings)
        state = state or RiskState(profile=self.profile.id)
        if state.profile != self.profile.id:
            # Another profile's numbers (a high-water mark, a target reached, days) say nothing of this one.
            log.warning("rule profile changed from %s to %s: its numbers start afresh", state.profile, self.profile.id)
            state = RiskState(
                kill_mode=state.kill_mode,
                kill_reason=state.kill_reason,
                kill_automatic=state.kill_automatic,
                trading_date=state.trading_date,
                day_realized=state.day_realized,
                profile=self.profile.id,
                profile_since=state.trading_date,
                balance=state.balance,
            )
        if state.high_water is None and self.profile.starting_balance is not None:
            state = replace(state, high_water=self.profile.starting_balance)
        self.state = state
        # `[risk] impl`: the Rust check (trading/risk/native.py) or None (Python checks every order).
        self._rust = rust_check(settings, self.profile)
        self.answered_by: Literal["rust", "python"] = "python"  # whose answer the last `check` gave

    @property
    def settings(self) -> RiskSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: RiskSettings) -> None:
        """New limits while running (a configuration reload): the Rust check is rebuilt with them."""
        self._settings = settings
        self._rust = rust_check(settings, self.profile)

    # ---------------------------------------------------------------- persistence
    async def save(self, store: RiskStateStore, account_id: int) -> None:
        await store.save(account_id, self.state)

    @classmethod
    async def load(
        cls, settings: RiskSettings, store: RiskStateStore, account_id: int, profile: RuleProfile | None = None
    ) -> RiskManager:
        return cls(settings, await store.load(account_id), profile)

    # ---------------------------------------------------------------- the profile's numbers
    @property
    def daily_loss_limit(self) -> Decimal | None:
        return self.profile.daily_loss_limit

    @property
    def starting_balance(self) -> Decimal | None:
        p = self.profile.starting_balance
        return p if p is not None else self.state.start_balance

    @property
    def floor(self) -> Decimal | None:
        """The maximum loss floor: the end-of-day high minus max_loss, never above the lock."""
        p, hw = self.profile, self.state.high_water
        if p.max_loss is None or hw is None:
            return None
        f = hw - p.max_loss
        start = self.starting_balance
        if p.max_loss_lock is not None and start is not None:
            f = min(f, start + p.max_loss_lock)
        return f

    @property
    def floor_locked(self) -> bool:
        p, start, f = self.profile, self.starting_balance, self.floor
        return p.max_loss_lock is not None and start is not None and f == start + p.max_loss_lock

    def contract_cap(self) -> int | None:
        """Today's cap: the profile's maximum, lowered by the scaling plan's tier of the last finished day."""
        p = self.profile
        start = self.starting_balance
        eod = self.state.days[-1].end_balance if self.state.days else start
        tier = p.scaling_cap(eod - start) if eod is not None and start is not None else p.scaling_cap(Decimal(0))
        caps = [c for c in (p.max_contracts, tier) if c is not None]
        return min(caps) if caps else None

    def lots(self, exposure: Exposure, extra: WorkingOrder | None = None) -> Decimal:
        """Contracts held plus working (worst case per contract), micros counted per the profile."""
        ids = {*exposure.positions, *(w.contract_id for w in exposure.working)}
        if extra is not None:
            ids.add(extra.contract_id)
        total = Decimal(0)
        for cid in ids:
            n = Decimal(exposure.worst_case(cid, extra if extra is not None and extra.contract_id == cid else None))
            total += n / self.profile.micros_per_lot if is_micro(cid) else n
        return total

    def target_reached(self, exposure: Exposure) -> bool:
        t, start = self.profile.profit_target, self.starting_balance
        return t is not None and start is not None and exposure.balance >= start + t

    def cap_reached(self, exposure: Exposure) -> bool:
        cap = self.profile.daily_profit_cap
        return cap is not None and exposure.day_pnl >= cap

    def consistency(self) -> Decimal | None:
        """The best day's share of the total profit over the recorded days (today's realized included)."""
        pnls = [d.realized for d in self.state.days]
        if self.state.trading_date is not None:
            pnls.append(self.state.day_realized)
        total = sum(pnls, Decimal(0))
        if total <= 0:
            return None
        return max(pnls) / total

    # ---------------------------------------------------------------- kill switch
    def trip(self, mode: KillMode, reason: str, at: datetime, automatic: bool = False) -> KillSwitchTripped:
        self.state = replace(self.state, kill_mode=mode, kill_reason=reason, kill_automatic=automatic)
        return KillSwitchTripped(mode, reason, at)

    def reset(self) -> None:
        self.state = replace(self.state, kill_mode=KillMode.OFF, kill_reason="", kill_automatic=False)

    def _roll_day(self, now: datetime) -> None:
        """The futures trading day rolls at the 18:00 ET reopen: the finished day is recorded, the
        end-of-day high (so the floor) raised, the daily trips cleared."""
        session = session_at(now)
        today = session.date if session is not None else to_ny(now).date()
        st = self.state
        if st.trading_date == today:
            return
        days, hw = st.days, st.high_water
        if st.trading_date is not None and st.balance is not None and st.trading_date < today:
            days = (*days, DayRecord(st.trading_date, st.day_realized, st.balance))
            hw = st.balance if hw is None else max(hw, st.balance)
        self.state = replace(
            st,
            trading_date=today,
            day_pnl=Decimal(0),
            day_realized=Decimal(0),
            days=days,
            high_water=hw,
            profile_since=st.profile_since or today,
            cap_tripped=False,
            alerted=frozenset(),
        )
        if self.state.kill_automatic:
            self.reset()

    def mark(self, exposure: Exposure, now: datetime) -> list[KillSwitchTripped]:
        """Mark to market: remember the day's P&L and the balance; trip on a limit or a goal."""
        self._roll_day(now)
        st = self.state
        self.state = replace(
            st,
            day_pnl=exposure.day_pnl,
            day_realized=exposure.realized_today,
            balance=exposure.balance,
            start_balance=st.start_balance if st.start_balance is not None else exposure.balance,
            # The first balance ever seen starts the end-of-day high (profiles that publish no start).
            high_water=st.high_water if st.high_water is not None else exposure.balance,
        )
        p = self.profile
        events: list[KillSwitchTripped] = []
        if self.state.kill_mode is KillMode.HALTED:
            return events
        floor = self.floor
        if p.daily_loss_limit is not None and exposure.day_pnl <= -p.daily_loss_limit:
            events.append(
                self.trip(
                    KillMode.HALTED,
                    f"daily loss limit hit: today's P&L {exposure.day_pnl} <= -{p.daily_loss_limit}",
                    now,
                    automatic=True,
                )
            )
        elif floor is not None and exposure.equity <= floor:
            events.append(
                self.trip(
                    KillMode.HALTED,
                    f"trailing max loss hit: equity {exposure.equity} <= floor {floor} "
                    f"(end-of-day high {self.state.high_water} - {p.max_loss}"
                    f"{', locked' if self.floor_locked else ''})",
                    now,
                )
            )
        elif self.target_reached(exposure) and not self.state.goal_met:
            self.state = replace(self.state, goal_met=True)
            events.append(
                self.trip(
                    KillMode.REDUCE_ONLY,
                    f"profit target reached: balance {exposure.balance} >= {self.starting_balance} + "
                    f"{p.profit_target}; reduce-only until a trader resets",
                    now,
                )
            )
        elif self.cap_reached(exposure) and not self.state.cap_tripped and self.state.kill_mode is KillMode.OFF:
            self.state = replace(self.state, cap_tripped=True)
            events.append(
                self.trip(
                    KillMode.REDUCE_ONLY,
                    f"daily profit cap reached: today's P&L {exposure.day_pnl} >= {p.daily_profit_cap}; "
                    "reduce-only until the next trading day",
                    now,
                    automatic=True,
                )
            )
        return events

    # ---------------------------------------------------------------- the check
    def check(self, request: OrderRequest, exposure: Exposure, now: datetime) -> Decision:
        """Allowed, or refused with a sentence: the Rust check's answer when `[risk] impl = "rust"`
        and it can decide the order exactly, else `python_check`'s (the same answer)."""
        decided = self.rust_check(request, exposure, now)
        self.answered_by = "python" if decided is None else "rust"
        return decided if decided is not None else self.python_check(request, exposure, now)

    def rust_check(self, request: OrderRequest, exposure: Exposure, now: datetime) -> Decision | None:
        """The Rust check's answer; None without it or where it leaves the order to Python."""
        if self._rust is None:
            return None
        return self._rust.check(request, exposure, now, lambda: self.state, self._roll_day)

    def python_check(self, request: OrderRequest, exposure: Exposure, now: datetime) -> Decision:
        self._roll_day(now)
        s, p = self.settings, self.profile
        pos = exposure.positions.get(request.contract_id, 0)
        delta = request.side.sign * request.size
        reduces = pos != 0 and (pos > 0) != (delta > 0) and request.size <= abs(pos)
        if request.size <= 0:
            return refuse(f"order size must be positive, got {request.size}")
        band = self.price_band(request, exposure.last_prices.get(request.contract_id))
        if not band:
            return band
        if reduces:
            return Decision(True, "reduces the open position")
        if self.state.kill_mode is KillMode.HALTED:
            return refuse(f"kill switch is HALTED ({self.state.kill_reason}); only flattening is allowed")
        if self.state.kill_mode is KillMode.REDUCE_ONLY:
            return refuse(f"kill switch is REDUCE-ONLY ({self.state.kill_reason}); this order would add exposure")
        if request.size > s.max_order_size:
            return refuse(f"order size {request.size} exceeds the maximum of {s.max_order_size} contracts per order")
        same_side = sum(
            w.size for w in exposure.working if w.contract_id == request.contract_id and w.side is request.side
        )
        projected = pos + request.side.sign * (same_side + request.size)
        if abs(projected) > s.max_position_per_symbol:
            return refuse(
                f"position would reach {abs(projected)} contracts on {request.contract_id} "
                f"(max {s.max_position_per_symbol}, counting working orders)"
            )
        others = sum(abs(q) for c, q in exposure.positions.items() if c != request.contract_id)
        if others + abs(projected) > s.max_position_total:
            return refuse(
                f"total position would reach {others + abs(projected)} contracts (max {s.max_position_total})"
            )
        cap = self.contract_cap()
        if cap is not None:
            lots = self.lots(exposure, WorkingOrder(request.contract_id, request.side, request.size))
            if lots > cap:
                scaled = p.max_contracts is None or cap < p.max_contracts
                why = "today's scaling-plan tier" if scaled else f"{p.label}'s maximum"
                micros = f", {p.micros_per_lot} micros = 1" if p.micros_per_lot > 1 else ""
                return refuse(
                    f"contracts would reach {lots.normalize():f} (max {cap}: {why}; counting working orders{micros})"
                )
        if p.daily_loss_limit is not None and exposure.day_pnl <= -p.daily_loss_limit:
            return refuse(f"daily loss limit reached: today's P&L {exposure.day_pnl} (limit -{p.daily_loss_limit})")
        floor = self.floor
        if floor is not None and exposure.equity <= floor:
            return refuse(
                f"trailing max loss reached: equity {exposure.equity} is at or below the floor {floor} "
                f"({p.max_loss} below the end-of-day high {self.state.high_water})"
            )
        if self.target_reached(exposure) and not self.state.goal_met:
            return refuse(f"profit target of {p.profit_target} reached: reduce-only")
        if self.cap_reached(exposure) and not self.state.cap_tripped:
            return refuse(f"daily profit cap of {p.daily_profit_cap} reached: reduce-only until the next trading day")
        if p.flat_time is not None and self.past_flat(now):
            return refuse(f"past the flat time {p.flat_time:%H:%M} ET: no new positions until the window reopens")
        if p.window_start is not None and p.window_end is not None and not in_window(now, p.window_start, p.window_end):
            return refuse(
                f"outside {p.label}'s trading window ({p.window_start:%H:%M}-{p.window_end:%H:%M} ET on trading days)"
            )
        if not self.in_trading_hours(now):
            return refuse(
                f"outside trading hours ({s.trading_start:%H:%M}-{s.trading_end:%H:%M} New York on trading days)"
            )
        return Decision(True)

    def past_flat(self, now: datetime) -> bool:
        p = self.profile
        return p.flat_time is not None and past_flat(now, p.flat_time, p.window_start)

    def price_band(self, request: OrderRequest, ref: PriceRef | None) -> Decision:
        """Every price of the order within the band around the last trade (see the module notes)."""
        prices = {"limit": request.limit_price, "stop": request.stop_price, "trail": request.trail_price}
        for name, price in prices.items():
            if price is None:
                continue
            band = self._band(ref) if ref is not None and price.is_finite() else None
            if band is not None and ref is not None and abs(price - ref.last) > band[0]:
                width, label = band
                return refuse(
                    f"{name} price {price} is {abs(price - ref.last) / ref.tick_size:.0f} ticks from the last trade "
                    f"{ref.last} on {request.contract_id}: beyond the price band of {label} ({width:f} points)"
                )
            if not price.is_finite() or abs(price) > MAX_SANE_PRICE or (ref is None and price <= 0):
                return refuse(f"{name} price {price} is not a price this contract can trade at")
        return Decision(True)

    def _band(self, ref: PriceRef) -> tuple[Decimal, str] | None:
        """The band's half-width in points and how it was set: the wider of the limits configured."""
        s = self.settings
        limits = []
        if s.price_band_ticks:
            limits.append((s.price_band_ticks * ref.tick_size, f"{s.price_band_ticks} ticks"))
        if s.price_band_atr and ref.atr:
            limits.append((s.price_band_atr * ref.atr, f"{s.price_band_atr} x ATR {ref.atr:.2f}"))
        return max(limits, key=lambda lim: lim[0]) if limits else None

    def in_trading_hours(self, now: datetime) -> bool:
        d = to_ny(now).date()
        if not is_trading_day(d):
            return False
        try:
            end = min(ny(d, self.settings.trading_end), flatten_time(d, self.settings.trading_end))
        except NotATradingDay:
            return False
        return ny(d, self.settings.trading_start) <= now < end


def refuse(reason: str) -> Decision:
    return Decision(False, reason)
