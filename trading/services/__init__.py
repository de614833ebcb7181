"""Every user action, once: accounts, market data, orders, positions, P&L, risk, strategies, stats.

Discord cogs and the CLI are thin faces over `Services`: they parse, authorize, call one method and
render what it returns (plain dataclasses). Nothing here knows about Discord.

- Bad input raises `BadInput` (or `NotFound`) before anything reaches the broker; risk refusals raise
  `RiskRefused`; broker failures surface as `BrokerFailed` with the broker client's trader-worded text.
- `Services(engine)` is built over the running engine, the one owner of the account (freqtrade's
  `RPC(freqtrade)`): an order is validated here, then `Engine.submit` decides with the risk check and
  the exposure every strategy order sees, and places it the same way (its intent written with the send,
  under a customTag the caller derives from the request, e.g. the Discord interaction: one tag never
  places twice).
  Cancel, modify, close, flatten and the kill switch go through the engine too.
- Fills reach the store and the notification outbox through the engine's user-hub events (and its
  reconciliation), deduplicated by trade id: there is no second fill path.
"""

from __future__ import annotations

from collections.abc import Callable

from trading.services.control import EngineControl
from trading.services.errors import BadInput, BrokerFailed, NotFound, RiskRefused, ServiceError, Unavailable
from trading.services.guard import GuardView
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
    OrderSpec,
    Placed,
    Pnl,
    Quote,
    RiskView,
    parse_price,
)
from trading.services.sizing import Sizing


class Services(Sizing):
    """Every user action, once. The action families are layered, each over the ones it uses:
    core → market (accounts, contracts, market data) → risk (checks, status) → orders → positions
    (and trades, P&L) → stats (halt/resume, statistics) → strategy → operator (status, tables, runtime, reload)
    → routing (component routes, parity) → sizing (each account's size rule)."""


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
    "EngineControl",
    "Factory",
    "Flattened",
    "GuardView",
    "Health",
    "NotFound",
    "OrderSpec",
    "Placed",
    "Pnl",
    "Quote",
    "RiskRefused",
    "RiskView",
    "ServiceError",
    "Services",
    "Unavailable",
    "parse_price",
]
