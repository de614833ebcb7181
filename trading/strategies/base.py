"""The Strategy interface and the context through which a strategy sees and touches the world.

A strategy is event-driven: the engine (live, paper) or the backtest calls its handlers; the
strategy reads bars, quotes, its orders and positions, the time and the account through its
`StrategyContext`, and acts only by proposing orders, cancelling, moving a stop or notifying. It
never calls the broker, the database or the wall clock, so the same object runs live, on the
simulator and in the backtest. Its state is plain JSON-able data (`on_save`/`on_load`) that the
engine persists per trading day, so a restart mid-day continues where it was.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel

from trading.calendar import TradingDay
from trading.domain import Bar, Contract, Decision, NotificationKind, Order, OrderRequest, Position, Quote
from trading.marketdata.aggregation import BarArrays

JSON = dict[str, Any]


class SessionEvent(enum.StrEnum):
    """Scheduled points of a trading day, in the order they happen."""

    PRE_OPEN = "pre_open"  # 09:25: range card
    OPEN = "open"  # 09:30: place entries
    LAST_ENTRY = "last_entry"  # 11:00: no new entries; cancel unfilled ones
    FLATTEN = "flatten"  # 15:55 (close - 5 min on early closes): cancel and flatten
    SUMMARY = "summary"  # 16:15: daily summary


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: int
    balance: Decimal
    daily_pnl: Decimal  # realized + unrealized today; negative is a loss
    daily_loss_limit: Decimal

    @property
    def daily_loss_used(self) -> Decimal:
        """Fraction of the daily loss limit already lost today (0 when in profit)."""
        return max(Decimal(0), -self.daily_pnl) / self.daily_loss_limit


class StrategyContext(Protocol):
    """Everything a strategy may read or do. Implemented by the engine and by the backtest."""

    def now(self) -> datetime: ...

    def contract(self, symbol: str) -> Contract: ...

    def bars(self, symbol: str, start: datetime, end: datetime) -> BarArrays:
        """Closed 1-minute bars with open time in [start, end) (never later than now - 1 min)."""
        ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def quote(self, symbol: str) -> Quote | None: ...

    def orders(self) -> list[Order]:
        """This strategy's orders today (working and done), bracket children included."""
        ...

    def working_orders(self) -> list[Order]:
        """Those of `orders()` still working, in the same order: what a strategy reading only these on
        every quote should ask for (the engine answers from an index, not a scan of the day's orders)."""
        ...

    def position(self, symbol: str) -> Position | None: ...

    def account(self) -> AccountInfo: ...

    def propose(self, request: OrderRequest) -> Decision: ...

    def cancel(self, order: Order) -> None: ...

    def modify_stop(self, order: Order, price: Decimal) -> None: ...

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None: ...


C = TypeVar("C", bound=BaseModel)


class Strategy(Generic[C]):
    """Base class: a frozen, validated config and no-op handlers to override."""

    name: ClassVar[str]

    def __init__(self, config: C, ctx: StrategyContext) -> None:
        self.config = config
        self.ctx = ctx

    @classmethod
    def config_from(cls, raw: Mapping[str, Any] | BaseModel) -> C:
        """Validate `[strategies.<name>]` (a mapping or the already validated settings section)."""
        model = cls.config_type()
        data = raw.model_dump() if isinstance(raw, BaseModel) else dict(raw)
        out: C = model.model_validate(data)
        return out

    @classmethod
    def config_type(cls) -> type[C]:
        raise NotImplementedError

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(getattr(self.config, "symbols", ()))

    def on_session_event(self, event: SessionEvent, day: TradingDay) -> None:
        """A scheduled point of the trading day `day` has been reached (ctx.now() is its time)."""

    def on_bar(self, symbol: str, bar: Bar) -> None:
        """A 1-minute bar of `symbol` has closed."""

    def on_quote(self, symbol: str, quote: Quote) -> None:
        """A quote (or trade print) of `symbol` arrived."""

    def on_order_update(self, order: Order) -> None:
        """One of this strategy's orders changed state."""

    def on_fill(self, order: Order, price: Decimal, size: int, at: datetime) -> None:
        """One of this strategy's orders filled `size` at `price`."""

    def on_save(self) -> JSON:
        """State to persist for the current trading day, plain JSON-able data."""
        return {}

    def on_load(self, state: JSON) -> None:
        """Restore what `on_save` returned (after a restart, same trading day)."""


WHOLE_STRATEGY = "*"  # the `symbol` key under which a strategy's whole-day state is stored


class StrategyStateRepository(Protocol):
    """The store's `strategy_state` repository, as far as strategies need it."""

    async def save(self, strategy: str, trading_day: date, symbol: str, state: dict[str, Any]) -> None: ...

    async def load(self, strategy: str, trading_day: date, symbol: str) -> dict[str, Any] | None: ...


async def persist(strategy: Strategy[Any], repo: StrategyStateRepository, trading_day: date) -> None:
    """Write the strategy's state for `trading_day` (the engine calls it after every handler that acts)."""
    await repo.save(strategy.name, trading_day, WHOLE_STRATEGY, strategy.on_save())


async def restore(strategy: Strategy[Any], repo: StrategyStateRepository, trading_day: date) -> bool:
    """Load the state saved for `trading_day`, if any; True when there was some."""
    state = await repo.load(strategy.name, trading_day, WHOLE_STRATEGY)
    if state is None:
        return False
    strategy.on_load(state)
    return True
