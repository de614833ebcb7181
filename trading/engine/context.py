"""The `StrategyContext` the engine gives each strategy.

Strategy handlers are synchronous; everything they read comes from the engine's in-memory view
(bars, quotes, orders, positions, account), and everything they do (propose, cancel, modify a stop,
notify) is queued as an `Action` that the engine carries out, in order, right after the handler
returns. `propose` answers at once with risk's verdict; the placement itself follows (the intent and
the broker's request together, the intent committed before the placement ends: core.py `_place_new`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from trading import notifications
from trading.clock import Clock
from trading.domain import Contract, Decision, NotificationKind, Order, OrderRequest, Position, Quote
from trading.engine.bars import BarCache
from trading.marketdata.aggregation import BarArrays
from trading.strategies.base import AccountInfo


@dataclass(frozen=True, slots=True)
class Place:
    strategy: str
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class Cancel:
    strategy: str
    order: Order


@dataclass(frozen=True, slots=True)
class ModifyStop:
    strategy: str
    order: Order
    price: Decimal


@dataclass(frozen=True, slots=True)
class Notify:
    strategy: str
    kind: NotificationKind
    payload: dict[str, Any] = field(default_factory=dict)


Action = Place | Cancel | ModifyStop | Notify

# A strategy's own fill messages go to its strategy channel: the engine already posts every fill
# (in the transaction that stores it) to the fills channel, and one fill should be said once there.
_REKIND = {NotificationKind.ENTRY_FILL: "entry_fill", NotificationKind.EXIT_FILL: "exit_fill"}


class StrategyHost(Protocol):
    """What a strategy's context reads and queues on: the engine (core.py), seen from here so that
    this module needs nothing above it."""

    clock: Clock
    contracts: dict[str, Contract]
    quotes: dict[str, Quote]
    positions: dict[str, Position]
    disabled: set[str]
    actions: list[Action]

    def bar_cache(self, symbol: str) -> BarCache: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def orders_of(self, name: str) -> list[Order]: ...

    def working_orders_of(self, name: str) -> list[Order]: ...

    def account_info(self) -> AccountInfo: ...

    def screen(self, request: OrderRequest, *, strategy: bool) -> Decision: ...

    def reserve(self, request: OrderRequest) -> None: ...

    def sized(self, request: OrderRequest) -> OrderRequest: ...


class EngineContext:
    def __init__(self, engine: StrategyHost, name: str) -> None:
        self.engine = engine
        self.name = name

    def now(self) -> datetime:
        return self.engine.clock.now()

    def contract(self, symbol: str) -> Contract:
        return self.engine.contracts[symbol]

    def bars(self, symbol: str, start: datetime, end: datetime) -> BarArrays:
        return self.engine.bar_cache(symbol).window(start, end, self.now())

    def last_price(self, symbol: str) -> Decimal | None:
        return self.engine.last_price(symbol)

    def quote(self, symbol: str) -> Quote | None:
        return self.engine.quotes.get(self.engine.contracts[symbol].id)

    def orders(self) -> list[Order]:
        return self.engine.orders_of(self.name)

    def working_orders(self) -> list[Order]:
        return self.engine.working_orders_of(self.name)

    def position(self, symbol: str) -> Position | None:
        return self.engine.positions.get(self.engine.contracts[symbol].id)

    def account(self) -> AccountInfo:
        return self.engine.account_info()

    def propose(self, request: OrderRequest) -> Decision:
        request = self.engine.sized(request)  # the account's size rule ([[accounts]])
        if self.name in self.engine.disabled:
            decision = Decision(False, f"{self.name} was stopped by an operator: no new orders")
        else:
            decision = self.engine.screen(request, strategy=True)
        if decision:
            self.engine.actions.append(Place(self.name, request))
            self.engine.reserve(request)
        else:
            self.engine.actions.append(
                Notify(
                    self.name,
                    NotificationKind.RISK,
                    dict(notifications.risk("Order refused", decision.reason, custom_tag=request.custom_tag)),
                )
            )
        return decision

    def cancel(self, order: Order) -> None:
        self.engine.actions.append(Cancel(self.name, order))

    def modify_stop(self, order: Order, price: Decimal) -> None:
        self.engine.actions.append(ModifyStop(self.name, order, price))

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None:
        data = dict(payload)
        if kind in _REKIND:
            data = {"event": _REKIND[kind], **data}
            kind = NotificationKind.STRATEGY
        self.engine.actions.append(Notify(self.name, kind, data))
