"""Limits every proposed order passes before execution, and the kill switch.

Risk is plain, synchronous and clock-free: the caller (engine or backtest) hands it the order, a
snapshot of the account's exposure and the time. It answers with a `Decision` (refusals carry a
sentence a trader can read) and, on `mark`, with the kill-switch trips it decided. Acting on a trip
(cancel working orders, flatten) is the caller's job: risk never touches the broker.

Choices:
- An order that only reduces an open position (opposite side, size <= position) is always allowed,
  even when halted, outside trading hours or past a loss limit: flattening must never be refused.
- Position limits count the worst case: the position plus every working order on the same side.
- Hitting the daily loss limit trips HALTED automatically; that automatic trip clears at the next
  trading day (TopstepX resets its DLL daily). Trailing max loss (MLL) and manual trips stay until
  a trader resets them.
- The MLL high-water mark is the highest realized balance seen (end-of-trade, not intraday equity).
- A price band guards against fat fingers: a priced order (limit, stop, trail) further from the
  contract's last trade than `price_band_ticks` ticks (or, wider, `price_band_atr` x the ATR of the
  last 1-minute bars) is refused, even when it would reduce a position: a protective stop at an
  absurd price protects nothing. A market order has no price and passes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from trading.calendar import NotATradingDay, flatten_time, is_trading_day, ny, session_at, to_ny
from trading.config import RiskSettings
from trading.domain import Contract, Decision, OrderRequest, Side
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import atr
from trading.store.risk_state import KillSwitch
from trading.store.risk_state import RiskState as StoredRiskState

ATR_BARS = 14  # the price band's ATR: mean true range of the last 14 one-minute bars
# Always refused, band or not. With no last trade to measure a band from, only these and prices <= 0
# are refused: refusing every priced order would block trading until the first quote arrives.
MAX_SANE_PRICE = Decimal("1e9")


class KillMode(enum.StrEnum):
    OFF = "off"
    REDUCE_ONLY = "reduce_only"  # only orders that shrink a position
    HALTED = "halted"  # cancel working orders, flatten, refuse everything but flattening


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

    @staticmethod
    def last_prices_of(
        contracts: Mapping[str, Contract], last_price: Callable[[str], Decimal | None], bars: Mapping[str, _Bars]
    ) -> dict[str, PriceRef]:
        """`last_prices` from a symbol -> contract map, the last trade of a symbol and its 1-minute bars."""
        out: dict[str, PriceRef] = {}
        for sym, c in contracts.items():
            last = last_price(sym)
            if last is None:
                continue
            cache = bars.get(sym)
            mean = atr(cache.arrays(), ATR_BARS) if cache is not None else None
            points = None if mean is None else Decimal(mean.numerator) / mean.denominator
            out[c.id] = PriceRef(last, c.tick_size, points)
        return out


@dataclass(frozen=True, slots=True)
class RiskState:
    """Everything risk must remember across a restart: plain data."""

    kill_mode: KillMode = KillMode.OFF
    kill_reason: str = ""
    kill_automatic: bool = False  # tripped by the daily loss limit (clears next trading day)
    trading_date: date | None = None
    day_realized: Decimal = Decimal(0)
    day_pnl: Decimal = Decimal(0)  # realized + unrealized at the last mark (not persisted: re-marked)
    high_water: Decimal | None = None


class RiskStateStore(Protocol):
    """Persistence hook; `RepositoryRiskStore` adapts the store's `risk_state` repository to it."""

    async def load(self, account_id: int) -> RiskState | None: ...

    async def save(self, account_id: int, state: RiskState) -> None: ...


AUTO = "auto: "  # reason prefix that marks an automatic (daily-loss) trip in storage


class RepositoryRiskStore:
    """`RiskStateStore` over `trading.store.risk_state.RiskStateRepository` (`store.risk_state`)."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo

    async def load(self, account_id: int) -> RiskState | None:
        row = await self.repo.get(account_id)
        if row is None:
            return None
        mode = KillMode.OFF if row.kill_switch.value == "none" else KillMode(row.kill_switch.value)
        auto = row.reason.startswith(AUTO)
        return RiskState(
            kill_mode=mode,
            kill_reason=row.reason.removeprefix(AUTO),
            kill_automatic=auto,
            trading_date=row.day,
            day_realized=row.day_realized_pnl,
            day_pnl=row.day_realized_pnl,
            high_water=row.high_water_balance,
        )

    async def save(self, account_id: int, state: RiskState) -> None:
        switch = KillSwitch.NONE if state.kill_mode is KillMode.OFF else KillSwitch(state.kill_mode.value)
        await self.repo.save(
            StoredRiskState(
                account_id=account_id,
                kill_switch=switch,
                reason=(AUTO if state.kill_automatic else "") + state.kill_reason,
                day=state.trading_date,
                day_realized_pnl=state.day_realized,
                high_water_balance=state.high_water,
            )
        )


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    mode: KillMode
    reason: str
    at: datetime


class RiskManager:
    def __init__(self, settings: RiskSettings, state: RiskState | None = None) -> None:
        self.settings = settings
        self.state = state or RiskState()

    # ---------------------------------------------------------------- persistence
    async def save(self, store: RiskStateStore, account_id: int) -> None:
        await store.save(account_id, self.state)

    @classmethod
    async def load(cls, settings: RiskSettings, store: RiskStateStore, account_id: int) -> RiskManager:
        return cls(settings, await store.load(account_id))

    # ---------------------------------------------------------------- kill switch
    def trip(self, mode: KillMode, reason: str, at: datetime, automatic: bool = False) -> KillSwitchTripped:
        self.state = replace(self.state, kill_mode=mode, kill_reason=reason, kill_automatic=automatic)
        return KillSwitchTripped(mode, reason, at)

    def reset(self) -> None:
        self.state = replace(self.state, kill_mode=KillMode.OFF, kill_reason="", kill_automatic=False)

    def _roll_day(self, now: datetime) -> None:
        # The futures trading day rolls at the 18:00 ET reopen (TopstepX resets its DLL then).
        session = session_at(now)
        today = session.date if session is not None else to_ny(now).date()
        if self.state.trading_date != today:
            self.state = replace(self.state, trading_date=today, day_pnl=Decimal(0), day_realized=Decimal(0))
            if self.state.kill_automatic:
                self.reset()

    def mark(self, exposure: Exposure, now: datetime) -> list[KillSwitchTripped]:
        """Mark to market: remember the day's P&L and the high-water mark; trip on a loss limit."""
        self._roll_day(now)
        s = self.settings
        hw = exposure.balance if self.state.high_water is None else max(self.state.high_water, exposure.balance)
        self.state = replace(self.state, day_pnl=exposure.day_pnl, day_realized=exposure.realized_today, high_water=hw)
        events: list[KillSwitchTripped] = []
        if self.state.kill_mode is not KillMode.HALTED:
            if exposure.day_pnl <= -s.daily_loss_limit:
                events.append(
                    self.trip(
                        KillMode.HALTED,
                        f"daily loss limit hit: today's P&L {exposure.day_pnl} <= -{s.daily_loss_limit}",
                        now,
                        automatic=True,
                    )
                )
            elif exposure.balance + exposure.unrealized <= hw - s.max_loss_trailing:
                events.append(
                    self.trip(
                        KillMode.HALTED,
                        f"trailing max loss hit: equity {exposure.balance + exposure.unrealized} <= "
                        f"high-water {hw} - {s.max_loss_trailing}",
                        now,
                    )
                )
        return events

    # ---------------------------------------------------------------- the check
    def check(self, request: OrderRequest, exposure: Exposure, now: datetime) -> Decision:
        self._roll_day(now)
        s = self.settings
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
        if exposure.day_pnl <= -s.daily_loss_limit:
            return refuse(f"daily loss limit reached: today's P&L {exposure.day_pnl} (limit -{s.daily_loss_limit})")
        hw = self.state.high_water
        if hw is not None and exposure.balance + exposure.unrealized <= hw - s.max_loss_trailing:
            return refuse(f"trailing max loss reached: equity is {s.max_loss_trailing} or more below {hw}")
        if not self.in_trading_hours(now):
            return refuse(
                f"outside trading hours ({s.trading_start:%H:%M}-{s.trading_end:%H:%M} New York on trading days)"
            )
        return Decision(True)

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
