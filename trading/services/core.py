"""What every action family shares: the running engine (the one owner of the account) and small helpers.

Like freqtrade's `RPC(freqtrade)`, the services are built over the running engine and keep no second
copy of its state: orders, cancels, modifies, closes and flatten go through the engine (its risk check,
its exposure, its placement path); reads the trader asks for come from the broker or the store.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from trading.domain import Contract
from trading.engine import Engine, current_trading_day
from trading.projectx.errors import ProjectXError
from trading.services.control import EngineControl
from trading.services.errors import BrokerFailed

T = TypeVar("T")


class ServicesCore:
    """The engine, and the settings, store, broker client and clock it runs on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.store = engine.store
        self.broker = engine.client
        self.clock = engine.clock
        self.account_id = engine.account_id  # one engine, one account
        self.control = EngineControl(engine)  # the strategy commands' view of the engine
        self._contracts: dict[str, Contract] = {}
        self._symbols: list[str] | None = None
        self._contract_of: dict[str, Contract] = {}

    async def _broker(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ProjectXError as exc:
            raise BrokerFailed(str(exc)) from None


def _midnight(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _trading_day_start(now: datetime) -> datetime:
    """Where "today" starts, as the engine and risk count it: the trading day's 18:00 New York reopen."""
    day = current_trading_day(now)
    return day.cme.open if day is not None and day.cme.open <= now else _midnight(now)
