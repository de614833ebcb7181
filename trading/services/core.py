"""The state every action family shares (settings, store, broker, clock, order path) and small helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from trading.config import Settings
from trading.domain import (
    Account,
    Contract,
    Fill,
    OrderRequest,
)
from trading.execution import Executor, PythonExecutor
from trading.projectx.errors import ProjectXError
from trading.projectx.rest import ProjectXClient
from trading.services.errors import BadInput, BrokerFailed, NotFound
from trading.services.results import Now, StrategyControl
from trading.store import Store

T = TypeVar("T")


class ServicesCore:
    """Settings, store, broker client, clock, the order path and the running engine (if any)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        broker: ProjectXClient,
        clock: Now,
        *,
        account_id: int | None = None,
        strategies: StrategyControl | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.clock = clock
        self.account_id = account_id
        self.strategies = strategies
        # Every mutation goes through the order path (Rust or Python), which times it; reads use the client.
        self.executor: Executor = executor or PythonExecutor(broker)
        self._contracts: dict[str, Contract] = {}
        self._symbols: list[str] | None = None
        self._fills_since: datetime | None = None
        self._fill_lock = asyncio.Lock()
        self._contract_of: dict[str, Contract] = {}

    async def _broker(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ProjectXError as exc:
            raise BrokerFailed(str(exc)) from None


def _pick_account(accounts: Sequence[Account], settings: Settings) -> int:
    px = settings.projectx
    if px.account_id is not None:
        return px.account_id
    if px.account_name:
        for a in accounts:
            if a.name == px.account_name:
                return a.id
        raise NotFound(f"No active account named {px.account_name!r}")
    tradable = [a for a in accounts if a.can_trade]
    if len(tradable) == 1:
        return tradable[0].id
    if not tradable:
        raise NotFound("No account on this login can trade")
    raise BadInput("Several accounts can trade: pick one with /account switch")


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _order_payload(event: str, r: OrderRequest, c: Contract, order_id: int | None) -> dict[str, Any]:
    return {
        "event": event,
        "order_id": order_id,
        "symbol": c.symbol,
        "side": r.side.value,
        "size": r.size,
        "type": r.type.value,
        "limit_price": None if r.limit_price is None else str(r.limit_price),
        "stop_price": None if r.stop_price is None else str(r.stop_price),
        "custom_tag": r.custom_tag,
    }


def _fill_payload(f: Fill, c: Contract) -> dict[str, Any]:
    return {
        "fill_id": f.id,
        "order_id": f.order_id,
        "symbol": c.symbol,
        "contract_id": f.contract_id,
        "side": f.side.value,
        "size": f.size,
        "price": str(f.price),
        "fees": str(f.fees),
        "pnl": None if f.pnl is None else str(f.pnl),
        "at": f.ts_event.isoformat(),
    }
