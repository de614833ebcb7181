"""The project's own types, shared by backtest, paper and live trading.

Prices on orders, fills and positions are `Decimal` on the contract's tick grid (snapped by
`snap_to_tick`, the one function that does it). Bars carry floats because they move through numpy
and Rust in bulk; every price that leaves a bar for an order goes through `snap_to_tick`.
P&L is integer ticks x tick value x quantity, never a float difference.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

Price = Decimal


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"
    JOIN_BID = "join_bid"
    JOIN_ASK = "join_ask"


class OrderStatus(enum.StrEnum):
    """Our order states. `INTENT` exists only in our store: written before the order is sent."""

    INTENT = "intent"
    PENDING = "pending"
    OPEN = "open"
    SUSPENDED = "suspended"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_working(self) -> bool:
        return self in (OrderStatus.OPEN, OrderStatus.SUSPENDED, OrderStatus.PENDING, OrderStatus.PENDING_CANCEL)


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


class PositionSide(enum.StrEnum):
    LONG = "long"
    SHORT = "short"


class Rounding(enum.StrEnum):
    NEAREST = "nearest"  # halves away from zero
    UP = "up"
    DOWN = "down"


_ROUNDING = {Rounding.NEAREST: ROUND_HALF_UP, Rounding.UP: ROUND_CEILING, Rounding.DOWN: ROUND_FLOOR}


def to_decimal(value: Decimal | float | int | str) -> Decimal:
    """Exact decimal from any price input; floats go through their shortest repr (21034.25, not 21034.2499…)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def price_to_ticks(
    price: Decimal | float | int | str, tick_size: Decimal, rounding: Rounding = Rounding.NEAREST
) -> int:
    """Number of ticks in `price` (a level or a distance), rounded as asked. ROUND_HALF_UP on a
    Decimal rounds halves away from zero, which is the rule the strategy spec asks for."""
    if tick_size <= 0:
        raise ValueError(f"tick size must be positive, got {tick_size}")
    return int((to_decimal(price) / tick_size).quantize(Decimal(1), rounding=_ROUNDING[rounding]))


def snap_to_tick(
    price: Decimal | float | int | str, tick_size: Decimal, rounding: Rounding = Rounding.NEAREST
) -> Decimal:
    """The one function that puts a price on the tick grid."""
    return price_to_ticks(price, tick_size, rounding) * tick_size


def is_on_tick(price: Decimal | float | int | str, tick_size: Decimal) -> bool:
    p = to_decimal(price)
    return p == snap_to_tick(p, tick_size)


def tick_text(price: Decimal, tick_size: Decimal) -> str:
    """A price written with as many decimals as the tick size has (0.25 → 2, 1 → 0): the one way a
    price on a grid is shown to a trader (the caller snaps it first when it may be off the grid)."""
    places = max(0, -int(tick_size.normalize().as_tuple().exponent))
    return f"{price.quantize(Decimal(1).scaleb(-places)):f}"


def money_text(amount: Decimal) -> str:
    """Dollars as a trader reads them: -$1,234.50 (the one way an amount is written in text)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@dataclass(frozen=True, slots=True)
class Contract:
    id: str  # broker contract id, e.g. CON.F.US.MNQ.Z25
    name: str  # exchange short code, e.g. MNQZ5
    symbol_id: str  # e.g. F.US.MNQ
    description: str
    tick_size: Decimal
    tick_value: Decimal
    active: bool = True

    @property
    def symbol(self) -> str:
        """The root a trader types (MNQ), taken from the symbolId."""
        return self.symbol_id.rsplit(".", 1)[-1]

    @property
    def point_value(self) -> Decimal:
        return self.tick_value / self.tick_size

    def snap(self, price: Decimal | float | int | str, rounding: Rounding = Rounding.NEAREST) -> Decimal:
        return snap_to_tick(price, self.tick_size, rounding)

    def ticks(self, distance: Decimal | float | int | str, rounding: Rounding = Rounding.NEAREST) -> int:
        return price_to_ticks(distance, self.tick_size, rounding)

    def pnl(self, side: PositionSide | Side, entry: Decimal, exit_: Decimal, size: int) -> Decimal:
        """Exact P&L of `size` contracts: ticks x tick value x quantity."""
        long = side in (PositionSide.LONG, Side.BUY)
        moved = self.ticks(exit_ - entry) if long else self.ticks(entry - exit_)
        return moved * self.tick_value * size


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade print. `ts_event` is when it happened, `ts_init` when we saw it."""

    contract_id: str
    ts_event: datetime
    price: Decimal
    size: int
    aggressor: Side | None = None
    ts_init: datetime | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    contract_id: str
    ts_event: datetime
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume: int | None = None
    ts_init: datetime | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar labelled by its open (start) time, timezone-aware UTC."""

    contract_id: str
    timeframe: str  # "1m", "5m", "1d", ...
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Bracket:
    """Native bracket offsets in ticks, signed as the broker wants them (see projectx-api.md §10.2)."""

    stop_loss_ticks: int | None = None
    take_profit_ticks: int | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy, a service or a trader asks execution to place."""

    account_id: int
    contract_id: str
    side: Side
    type: OrderType
    size: int
    custom_tag: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    bracket: Bracket | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    id: int | None  # broker order id
    account_id: int
    contract_id: str
    side: Side
    type: OrderType
    size: int
    status: OrderStatus
    custom_tag: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    parent_id: int | None = None
    linked_id: int | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution (a ProjectX half-turn trade). `pnl` is None for opening fills."""

    id: int  # broker trade id
    order_id: int
    account_id: int
    contract_id: str
    side: Side
    size: int
    price: Decimal
    ts_event: datetime
    fees: Decimal = Decimal(0)
    pnl: Decimal | None = None
    voided: bool = False
    ts_init: datetime | None = None


@dataclass(frozen=True, slots=True)
class Position:
    account_id: int
    contract_id: str
    side: PositionSide
    size: int  # always positive
    average_price: Decimal
    opened_at: datetime | None = None
    id: int | None = None

    def unrealized(self, contract: Contract, price: Decimal) -> Decimal:
        return contract.pnl(self.side, self.average_price, price, self.size)


@dataclass(frozen=True, slots=True)
class Decision:
    """Risk's answer to a proposal: approved, or refused with a reason a trader can read."""

    approved: bool
    reason: str = ""
    order: Order | None = None  # the working order when the venue answers at once (backtest)

    def __bool__(self) -> bool:
        return self.approved


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    balance: Decimal
    can_trade: bool
    is_visible: bool = True
    simulated: bool = True


@dataclass(frozen=True, slots=True)
class LatencySample:
    operation: str  # "place", "cancel", "modify", "decode", ...
    path: str  # "rust" | "python"
    nanos: int
    at: datetime
    ok: bool = True
    extra: dict[str, str] = field(default_factory=dict)


class NotificationKind(enum.StrEnum):
    """Every kind of outgoing message. The outbox row carries it; the notifier picks channel,
    format and coalescing from it."""

    ENTRY_FILL = "entry_fill"
    EXIT_FILL = "exit_fill"
    ORDER = "order"  # placed, modified, cancelled, rejected
    RISK = "risk"  # refusals, kill-switch trips
    ALERT = "alert"  # stale feed, reconnects, errors an operator must see
    STRATEGY = "strategy"  # range card, skipped sides, filter verdicts
    SUMMARY = "summary"  # daily summary
    LATENCY = "latency"  # latency report

    @property
    def channel(self) -> str:
        """The `[discord.channels]` key this kind is delivered to."""
        return _CHANNEL_OF[self]


_CHANNEL_OF = {
    NotificationKind.ENTRY_FILL: "fills",
    NotificationKind.EXIT_FILL: "fills",
    NotificationKind.ORDER: "orders",
    NotificationKind.RISK: "alerts",
    NotificationKind.ALERT: "alerts",
    NotificationKind.STRATEGY: "strategy",
    NotificationKind.SUMMARY: "summary",
    NotificationKind.LATENCY: "latency",
}
