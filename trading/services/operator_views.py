"""What the operator commands return (plain data): the bot's status with each position's unrealized
P&L, P&L per day or week, results per symbol, the running process (hubs, feed, bars, mode, version)
and what a configuration reload applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from trading.domain import Order, PositionSide
from trading.native import RouteState

PNL_MAX_DAYS = 90
PNL_MAX_WEEKS = 13
PERFORMANCE_MAX_DAYS = 90
LOG_MAX_LINES = 200


@dataclass(frozen=True)
class MarkedPosition:
    """An open position marked at the engine's last trade (`last`/`unrealized` None before a quote)."""

    symbol: str
    contract_id: str
    side: PositionSide
    size: int
    average_price: Decimal
    tick_size: Decimal | None
    last: Decimal | None = None
    unrealized: Decimal | None = None


@dataclass(frozen=True)
class Status:
    """/status: the engine's state, what is open and how it stands against the limits."""

    mode: str
    engine: str  # "active" | "standby"
    kill_switch: str
    kill_reason: str
    positions: list[MarkedPosition]
    orders: list[Order]
    symbols_of: dict[str, str]  # contract id -> symbol (for the orders)
    ticks: dict[str, Decimal]  # contract id -> tick size
    open_contracts: int
    max_contracts: int
    unrealized: Decimal
    day_pnl: Decimal


@dataclass(frozen=True)
class PnlRow:
    start: date  # the New York day, or the Monday starting the week
    realized: Decimal
    fees: Decimal
    trades: int  # closing fills

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees


@dataclass(frozen=True)
class SymbolResult:
    symbol: str
    trades: int  # closing fills
    wins: int
    realized: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees

    @property
    def win_rate(self) -> Decimal:
        return Decimal(self.wins) / self.trades if self.trades else Decimal(0)


@dataclass(frozen=True)
class VersionInfo:
    package: str
    commit: str | None
    native: str  # which order path and the Rust extension's version


@dataclass(frozen=True)
class Hub:
    name: str
    state: str  # "connected" | "disconnected" | "not used"


@dataclass(frozen=True)
class Runtime:
    """What /stats health adds to the broker and database checks."""

    mode: str
    engine: str
    hubs: list[Hub]
    feed_seen_at: datetime | None  # the market hub's last event
    feed_age_s: float | None
    last_bars: dict[str, datetime | None]  # symbol -> start of its newest 1-minute bar
    version: VersionInfo
    routes: list[RouteState] = field(default_factory=list)  # each component's implementation now
    executor_fallbacks: int = 0  # Rust executor calls served by Python (a binding error or a panic)


@dataclass(frozen=True)
class Reloaded:
    """What a configuration reload did: the sections applied now and those that need a restart."""

    applied: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.restart)
