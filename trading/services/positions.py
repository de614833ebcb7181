"""Positions, close and flatten (through the engine), trades and P&L, and the account state card."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from trading.domain import (
    Fill,
    Position,
)
from trading.services.core import _midnight, _trading_day_start
from trading.services.errors import BadInput, NotFound
from trading.services.orders import Orders
from trading.services.results import (
    TRADES_MAX_DAYS,
    AccountState,
    Flattened,
    Pnl,
)


class Positions(Orders):
    """Positions, flatten, trades and P&L."""

    async def positions(self) -> list[Position]:
        return await self._broker(self.broker.open_positions(self.account_id))

    async def close_position(self, symbol: str) -> Position:
        contract = await self.contract(symbol)
        for p in await self.positions():
            if p.contract_id == contract.id:
                await self._broker(self.engine.close_position(p.contract_id))
                return p
        raise NotFound(f"No open {contract.symbol} position")

    async def flatten(self, reason: str = "flattened by an operator") -> Flattened:
        """Cancel every working order, then close every position (the engine's flatten); keeps going
        past a failure and says which."""
        done = await self.engine.flatten_all(reason)
        return Flattened(done["cancelled"], done["closed"], done["errors"])

    async def trades(self, days: int = 1) -> list[Fill]:
        if not 1 <= days <= TRADES_MAX_DAYS:
            raise BadInput(f"Days must be between 1 and {TRADES_MAX_DAYS}")
        end = self.clock.now()
        fills = await self._broker(self.broker.search_trades(self.account_id, end - timedelta(days=days), end))
        return sorted((f for f in fills if not f.voided), key=lambda f: f.ts_event)

    async def pnl(self, period: str = "today") -> Pnl:
        now = self.clock.now()
        starts = {
            "today": _trading_day_start(now),
            "week": _midnight(now) - timedelta(days=_midnight(now).weekday()),
            "month": _midnight(now).replace(day=1),
        }
        if period not in starts:
            raise BadInput("Period must be today, week or month")
        start = starts[period]
        fills = await self._broker(self.broker.search_trades(self.account_id, start, now))
        fills = [f for f in fills if not f.voided]
        by_day: dict[date, Decimal] = {}
        for f in fills:
            d = f.ts_event.date()
            by_day[d] = by_day.get(d, Decimal(0)) + (f.pnl or Decimal(0)) - f.fees
        return Pnl(
            period,
            start,
            now,
            sum((f.pnl or Decimal(0) for f in fills), Decimal(0)),
            sum((f.fees for f in fills), Decimal(0)),
            len(fills),
            sorted(by_day.items()),
        )

    async def account_state(self) -> AccountState:
        account = await self.account()
        positions = await self.positions()
        orders = await self.open_orders()
        return AccountState(account, positions, orders, await self.risk_status())
