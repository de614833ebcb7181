"""The realtime stream interface: event types and the `MarketStream` / `UserStream` protocols.

Two implementations present this interface: `trading.projectx.realtime` (Python, signalrcore) and the
Rust stream in `trading._native` (tokio-tungstenite). Code above the broker (marketdata, engine)
depends only on this module.

Delivery contract (both paths):
- Events are delivered **in batches** to one async handler, `BatchHandler`, given to the stream's
  constructor: ``async def handler(batch: Sequence[StreamEvent]) -> None``.
- A batch holds one or more events in arrival order. The handler is awaited by one consumer task
  per stream, so batches never overlap and their order is kept. While the handler runs, new events
  accumulate and arrive as the next batch (natural coalescing under load; the Rust twin crosses into
  Python once per batch).
- An exception raised by the handler is logged and the stream goes on; it never kills the stream.
- Quotes are delivered **merged**: `QuoteEvent.quote` is the full last-known state for the contract
  (the gateway sends partial quotes).
- `StatusEvent`s are in-band: connected, reconnected (after which every subscription has been
  re-sent), disconnected, stale (no event for the configured time during market hours; a forced
  reconnect follows), logout (`GatewayLogout`), token_refreshed (connections rebuilt with a new token).
  `StatusEvent.is_alert` tells which ones an operator must see.
- Subscriptions are remembered by the stream and re-sent after every (re)connect; callers subscribe
  once.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from trading.domain import Account, Fill, Order, Position, Quote, Tick


class Hub(enum.StrEnum):
    USER = "user"
    MARKET = "market"


class DepthKind(enum.StrEnum):
    """What a depth entry says (the gateway's DomType, as our own names)."""

    UNKNOWN = "unknown"
    ASK = "ask"
    BID = "bid"
    BEST_ASK = "best_ask"
    BEST_BID = "best_bid"
    TRADE = "trade"
    RESET = "reset"
    LOW = "low"
    HIGH = "high"
    NEW_BEST_BID = "new_best_bid"
    NEW_BEST_ASK = "new_best_ask"
    FILL = "fill"


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One market-depth entry. `volume` is the size at the level (0 removes it); see api doc §8.4."""

    ts_event: datetime
    kind: DepthKind
    price: Decimal
    volume: int
    current_volume: int | None = None


@dataclass(frozen=True, slots=True)
class QuoteEvent:
    """The merged quote of one contract after an update (never a partial)."""

    quote: Quote


@dataclass(frozen=True, slots=True)
class TradesEvent:
    """Trade prints of one contract, in the order the gateway sent them."""

    contract_id: str
    ticks: tuple[Tick, ...]


@dataclass(frozen=True, slots=True)
class DepthEvent:
    contract_id: str
    levels: tuple[DepthLevel, ...]


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed. `action` is the gateway's undocumented wrapper action, when it sent one."""

    order: Order
    action: int | None = None


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True, slots=True)
class PositionEvent:
    """A position changed. `closed` is True when the gateway reported size 0 (the position is flat);
    `position.size` is then 0 and `position.side` is whatever the gateway's type said."""

    position: Position
    closed: bool = False


@dataclass(frozen=True, slots=True)
class AccountEvent:
    account: Account


class StreamState(enum.StrEnum):
    CONNECTED = "connected"
    RECONNECTED = "reconnected"
    DISCONNECTED = "disconnected"
    STALE = "stale"
    LOGOUT = "logout"
    TOKEN_REFRESHED = "token_refreshed"
    STOPPED = "stopped"


_ALERTS = frozenset({StreamState.DISCONNECTED, StreamState.STALE, StreamState.LOGOUT})


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """Connection health of one hub, worded for a trader in `message`."""

    hub: Hub
    state: StreamState
    message: str
    at: datetime

    @property
    def is_alert(self) -> bool:
        return self.state in _ALERTS


MarketEvent = QuoteEvent | TradesEvent | DepthEvent | StatusEvent
UserEvent = OrderEvent | FillEvent | PositionEvent | AccountEvent | StatusEvent
StreamEvent = (
    QuoteEvent | TradesEvent | DepthEvent | OrderEvent | FillEvent | PositionEvent | AccountEvent | StatusEvent
)

BatchHandler = Callable[[Sequence[StreamEvent]], Awaitable[None]]
"""Receives each batch of events; awaited by a single consumer task (batches never overlap)."""

TokenProvider = Callable[[], str]
"""Returns the current access token (read at every (re)connect)."""


@runtime_checkable
class Stream(Protocol):
    """What both hubs share. Constructed with a `BatchHandler` and a `TokenProvider`."""

    async def start(self) -> None:
        """Connect and return once connected (raises `trading.projectx.errors.StreamError` if it cannot)."""
        ...

    async def stop(self) -> None:
        """Disconnect, stop the watchdog and the consumer; emits StatusEvent(STOPPED). Idempotent."""
        ...

    async def reconnect(self, reason: str) -> None:
        """Drop and rebuild the connection (reading the token again) and re-send every subscription."""
        ...

    async def token_changed(self, token: str) -> None:
        """A new token was issued (register it with `ProjectXClient.on_token`): rebuild the connection
        in the background with the token the `TokenProvider` now returns; emits TOKEN_REFRESHED after.
        Must return promptly (it is awaited inside the token refresh)."""
        ...

    @property
    def connected(self) -> bool: ...

    @property
    def path(self) -> str:
        """The implementation, "rust" or "python" (the stage timing labels its samples with it)."""
        ...


@runtime_checkable
class MarketStream(Stream, Protocol):
    async def subscribe_quotes(self, contract_id: str) -> None: ...

    async def subscribe_trades(self, contract_id: str) -> None: ...

    async def subscribe_depth(self, contract_id: str) -> None: ...

    async def unsubscribe(self, contract_id: str) -> None:
        """Stop quotes, trades and depth of the contract."""
        ...

    def last_quote(self, contract_id: str) -> Quote | None:
        """The merged quote state, or None before the first quote."""
        ...


@runtime_checkable
class UserStream(Stream, Protocol):
    async def subscribe_accounts(self) -> None: ...

    async def subscribe_account(self, account_id: int) -> None:
        """Orders, positions and trades (fills) of one account."""
        ...

    async def unsubscribe_account(self, account_id: int) -> None: ...
