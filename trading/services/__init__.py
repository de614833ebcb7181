"""Every user action, once: accounts, market data, orders, positions, P&L, risk, strategies, stats.

Discord cogs and the CLI are thin faces over `Services`: they parse, authorize, call one method and
render what it returns (plain dataclasses). Nothing here knows about Discord.

- Bad input raises `BadInput` (or `NotFound`) before anything reaches the broker; risk refusals raise
  `RiskRefused`; broker failures surface as `BrokerFailed` with the broker client's trader-worded text.
- Every order is written to the store as an intent before it is sent, under a customTag the caller
  derives from the request (the Discord interaction): asking twice with one tag never places twice.
- Fills reach the notification outbox through `sync_fills` (broker trades → store → outbox, in one
  transaction, deduplicated by trade id) until the engine's event path takes that over.
"""

from __future__ import annotations

from collections.abc import Callable

from trading.services.errors import BadInput, BrokerFailed, NotFound, RiskRefused, ServiceError, Unavailable
from trading.services.results import (
    BAR_LOOKBACK,
    MAX_BRACKET_TICKS,
    MAX_DEPTH_LEVELS,
    MAX_QUANTITY,
    TRADES_MAX_DAYS,
    AccountState,
    ChartData,
    Flattened,
    Health,
    Now,
    OrderSpec,
    Placed,
    Pnl,
    Quote,
    RiskView,
    StrategyControl,
    parse_price,
)
from trading.services.strategy import Strategies


class Services(Strategies):
    """Every user action, once. The action families are layered, each over the ones it uses:
    core → market (accounts, contracts, market data) → risk (checks, status) → orders → positions
    (and trades, P&L) → stats (halt/resume, statistics) → strategy."""


Factory = Callable[[], Services]

__all__ = [
    "BAR_LOOKBACK",
    "MAX_BRACKET_TICKS",
    "MAX_DEPTH_LEVELS",
    "MAX_QUANTITY",
    "TRADES_MAX_DAYS",
    "AccountState",
    "BadInput",
    "BrokerFailed",
    "ChartData",
    "Factory",
    "Flattened",
    "Health",
    "NotFound",
    "Now",
    "OrderSpec",
    "Placed",
    "Pnl",
    "Quote",
    "RiskRefused",
    "RiskView",
    "ServiceError",
    "Services",
    "StrategyControl",
    "Unavailable",
    "parse_price",
]
