"""What user actions take and return (plain data), and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from trading.domain import (
    Account,
    Bar,
    Contract,
    Fill,
    Order,
    OrderRequest,
    OrderType,
    Position,
    Side,
    to_decimal,
)
from trading.risk import RuleHeadroom
from trading.services.errors import BadInput

MAX_QUANTITY = 1000  # beyond any sane futures order: refused as a typo before risk even looks

BAR_LOOKBACK = timedelta(hours=6)

MAX_BRACKET_TICKS = 10000

TRADES_MAX_DAYS = 90

MAX_DEPTH_LEVELS = 20


@dataclass(frozen=True)
class OrderSpec:
    """What a trader asks for, as typed (prices as entered; validated by `Services.validate`)."""

    symbol: str
    side: Side
    type: OrderType
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_ticks: int | None = None
    stop_loss_ticks: int | None = None
    take_profit_ticks: int | None = None
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None


@dataclass(frozen=True)
class Placed:
    order_id: int | None
    custom_tag: str
    contract: Contract
    request: OrderRequest
    duplicate: bool = False  # this tag was placed before: nothing new was sent


@dataclass(frozen=True)
class Quote:
    contract: Contract
    last: Decimal | None
    at: datetime | None
    high: Decimal | None = None
    low: Decimal | None = None
    volume: float | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True)
class ChartData:
    contract: Contract
    timeframe: str
    bars: list[Bar]
    window_start: datetime
    window_end: datetime
    on_high: Decimal | None
    on_low: Decimal | None
    entries: tuple[Decimal, Decimal] | None = None  # the overnight range's buy and sell stops, as placed
    fills: list[Fill] = field(default_factory=list)  # the day's fills on this contract
    open_at: datetime | None = None  # the 09:30 open (UTC)


@dataclass(frozen=True)
class AccountState:
    account: Account
    positions: list[Position]
    open_orders: list[Order]
    risk: RiskView


@dataclass(frozen=True)
class RiskView:
    kill_switch: str
    reason: str
    day_pnl: Decimal
    daily_loss_limit: Decimal
    balance: Decimal
    high_water: Decimal | None  # the end-of-day balance high
    trailing_limit: Decimal
    # The engine's exposure, which every order's risk check reads: signed contracts per symbol (positions
    # plus working orders that can open or add), and the open P&L inside `day_pnl`.
    positions: dict[str, int] = field(default_factory=dict)
    working: dict[str, int] = field(default_factory=dict)
    unrealized: Decimal = Decimal(0)
    # The account's rule profile and each rule's headroom (trading/risk/headroom.py).
    profile: str = "custom"
    profile_label: str = ""
    floor: Decimal | None = None  # the maximum loss floor (end-of-day high - limit, locked where the profile says)
    rules: list[RuleHeadroom] = field(default_factory=list)

    @property
    def daily_loss_used(self) -> Decimal:
        return max(Decimal(0), -self.day_pnl) / self.daily_loss_limit

    @property
    def trailing_floor(self) -> Decimal | None:
        if self.floor is not None:
            return self.floor
        return None if self.high_water is None else self.high_water - self.trailing_limit

    @property
    def trailing_used(self) -> Decimal:
        floor = self.trailing_floor
        if floor is None:
            return Decimal(0)
        return max(Decimal(0), self.trailing_limit - (self.balance + self.unrealized - floor)) / self.trailing_limit


@dataclass(frozen=True)
class Pnl:
    period: str
    start: datetime
    end: datetime
    realized: Decimal
    fees: Decimal
    trades: int
    by_day: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees


@dataclass(frozen=True)
class Health:
    broker_ok: bool
    broker_detail: str
    database_ok: bool
    pending_notifications: int
    account_id: int | None


@dataclass(frozen=True)
class Flattened:
    cancelled: list[int]
    closed: list[str]
    errors: list[str]


def parse_price(text: str | float | Decimal | None, what: str = "price") -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = to_decimal(text if not isinstance(text, str) else text.strip())
    except (InvalidOperation, ValueError):
        raise BadInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise BadInput(f"{what} must be a positive number, got {text}")
    return value
