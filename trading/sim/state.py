"""The simulator's books: accounts, orders, positions and fills, and how each renders on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from trading.projectx import schema as s

WORKING = frozenset({s.OrderStatus.OPEN, s.OrderStatus.PENDING, s.OrderStatus.SUSPENDED})
TERMINAL = frozenset({s.OrderStatus.FILLED, s.OrderStatus.CANCELLED, s.OrderStatus.EXPIRED, s.OrderStatus.REJECTED})

# The order status machine the matching engine keeps (checked by the property tests).
LEGAL_TRANSITIONS: dict[s.OrderStatus, frozenset[s.OrderStatus]] = {
    s.OrderStatus.OPEN: frozenset(
        {s.OrderStatus.PENDING, s.OrderStatus.FILLED, s.OrderStatus.CANCELLED, s.OrderStatus.OPEN}
    ),
    s.OrderStatus.PENDING: frozenset({s.OrderStatus.FILLED, s.OrderStatus.CANCELLED}),
    s.OrderStatus.SUSPENDED: frozenset({s.OrderStatus.OPEN, s.OrderStatus.CANCELLED, s.OrderStatus.SUSPENDED}),
    s.OrderStatus.FILLED: frozenset(),
    s.OrderStatus.CANCELLED: frozenset(),
    s.OrderStatus.REJECTED: frozenset(),
    s.OrderStatus.EXPIRED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """The engine tried to move an order along an edge the status machine does not have (a bug)."""


@dataclass(slots=True)
class SimAccount:
    id: int
    name: str
    balance: Decimal
    can_trade: bool = True
    is_visible: bool = True
    simulated: bool = True
    auto_oco_brackets: bool = True
    tags: set[str] = field(default_factory=set)

    def model(self) -> s.AccountModel:
        return s.AccountModel(
            id=self.id,
            name=self.name,
            balance=self.balance,
            canTrade=self.can_trade,
            isVisible=self.is_visible,
            simulated=self.simulated,
        )


@dataclass(slots=True)
class SimOrder:
    id: int
    account_id: int
    contract_id: str
    symbol_id: str
    type: s.OrderType
    side: s.OrderSide
    size: int
    status: s.OrderStatus
    created: datetime
    updated: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_ticks: int | None = None
    trail_distance: Decimal | None = None  # trail_ticks x tick size, as searched orders report it
    custom_tag: str | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    parent_id: int | None = None
    linked_id: int | None = None
    # Bracket legs of an entry: offsets in ticks from the fill (signed as sent), and child ids.
    sl_ticks: int | None = None
    tp_ticks: int | None = None
    children: list[int] = field(default_factory=list)
    # Trailing stops: best price seen since the order started working.
    extreme: Decimal | None = None
    history: list[s.OrderStatus] = field(default_factory=list)

    def move(self, status: s.OrderStatus, at: datetime) -> None:
        if status not in LEGAL_TRANSITIONS[self.status]:
            raise IllegalTransition(f"order {self.id}: {self.status.name} -> {status.name}")
        self.status = status
        self.updated = at
        self.history.append(status)

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def buy(self) -> bool:
        return self.side == s.OrderSide.BID

    def model(self) -> s.OrderModel:
        return s.OrderModel(
            id=self.id,
            accountId=self.account_id,
            contractId=self.contract_id,
            symbolId=self.symbol_id,
            creationTimestamp=self.created,
            updateTimestamp=self.updated,
            status=self.status,
            type=self.type,
            side=self.side,
            size=self.size,
            limitPrice=self.limit_price,
            stopPrice=self.stop_price,
            fillVolume=self.fill_volume,
            filledPrice=self.filled_price,
            customTag=self.custom_tag,
            trailDistance=self.trail_ticks,
            trailPrice=self.trail_distance,
            parentOrderId=self.parent_id,
            linkedOrderId=self.linked_id,
        )


@dataclass(slots=True)
class SimPosition:
    id: int
    account_id: int
    contract_id: str
    net: int  # signed: > 0 long, < 0 short
    average: Decimal
    created: datetime

    def model(self, closed_type: int = s.PositionType.UNDEFINED) -> s.PositionModel:
        """A flat position (net 0) is sent with size 0 and the type it had (how the live hub signals
        a close is undocumented; project-x-py reads size 0 as closed)."""
        return s.PositionModel(
            id=self.id,
            accountId=self.account_id,
            contractId=self.contract_id,
            creationTimestamp=self.created,
            type=s.PositionType.LONG if self.net > 0 else s.PositionType.SHORT if self.net < 0 else closed_type,
            size=abs(self.net),
            averagePrice=self.average,
        )


@dataclass(slots=True)
class SimFill:
    id: int
    account_id: int
    contract_id: str
    created: datetime
    price: Decimal
    pnl: Decimal | None
    fees: Decimal
    side: s.OrderSide
    size: int
    order_id: int
    voided: bool = False

    def model(self) -> s.TradeModel:
        return s.TradeModel(
            id=self.id,
            accountId=self.account_id,
            contractId=self.contract_id,
            creationTimestamp=self.created,
            price=self.price,
            profitAndLoss=self.pnl,
            fees=self.fees,
            side=self.side,
            size=self.size,
            voided=self.voided,
            orderId=self.order_id,
        )


@dataclass(slots=True)
class BookTop:
    """What the matching engine knows of a contract's market."""

    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume: int = 0  # session total
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    prev_close: Decimal | None = None
