"""Positions, flatten, trades and P&L, fills into the outbox, and the account state card."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from trading.domain import (
    Fill,
    NotificationKind,
    Position,
)
from trading.projectx.errors import ProjectXError
from trading.services.core import _day_start, _fill_payload
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
        return await self._broker(self.broker.open_positions(await self._account_id()))

    async def close_position(self, symbol: str) -> Position:
        contract = await self.contract(symbol)
        for p in await self.positions():
            if p.contract_id == contract.id:
                await self._broker(self.executor.close(p.account_id, p.contract_id))
                return p
        raise NotFound(f"No open {contract.symbol} position")

    async def flatten(self) -> Flattened:
        """Cancel every working order, then close every position; keeps going past a failure."""
        cancelled: list[int] = []
        closed: list[str] = []
        errors: list[str] = []
        account_id = await self._account_id()
        for o in await self.open_orders():
            if o.id is None:
                continue
            try:
                await self.executor.cancel(account_id, o.id)
                cancelled.append(o.id)
            except ProjectXError as exc:
                errors.append(f"cancel #{o.id}: {exc}")
        for p in await self.positions():
            try:
                await self.executor.close(account_id, p.contract_id)
                closed.append(p.contract_id)
            except ProjectXError as exc:
                errors.append(f"close {p.contract_id}: {exc}")
        return Flattened(cancelled, closed, errors)

    async def trades(self, days: int = 1) -> list[Fill]:
        if not 1 <= days <= TRADES_MAX_DAYS:
            raise BadInput(f"Days must be between 1 and {TRADES_MAX_DAYS}")
        end = self.clock.now()
        fills = await self._broker(self.broker.search_trades(await self._account_id(), end - timedelta(days=days), end))
        return sorted((f for f in fills if not f.voided), key=lambda f: f.ts_event)

    async def pnl(self, period: str = "today") -> Pnl:
        now = self.clock.now()
        starts = {
            "today": _day_start(now),
            "week": _day_start(now) - timedelta(days=_day_start(now).weekday()),
            "month": _day_start(now).replace(day=1),
        }
        if period not in starts:
            raise BadInput("Period must be today, week or month")
        start = starts[period]
        fills = await self._broker(self.broker.search_trades(await self._account_id(), start, now))
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

    async def sync_fills(self, lookback: timedelta = timedelta(days=1)) -> list[Fill]:
        """New broker trades → store.fills → outbox (one transaction each, deduplicated by trade id)."""
        async with self._fill_lock:
            account_id = await self._account_id()
            now = self.clock.now()
            since = self._fills_since or now - lookback
            fills = await self._broker(self.broker.search_trades(account_id, since - timedelta(minutes=5), None))
            new: list[Fill] = []
            for f in sorted(fills, key=lambda x: (x.ts_event, x.id)):
                contract = await self.contract_by_id(f.contract_id)
                kind = NotificationKind.ENTRY_FILL if f.pnl is None else NotificationKind.EXIT_FILL
                async with self.store.transaction() as tx:
                    if not await tx.fills.insert(f):
                        continue
                    await tx.outbox.enqueue(kind, _fill_payload(f, contract), dedupe_key=f"fill-{f.id}")
                new.append(f)
            self._fills_since = max([since, *(f.ts_event for f in fills)])
            return new

    async def account_state(self) -> AccountState:
        account = await self.account()
        positions = await self.positions()
        orders = await self.open_orders()
        return AccountState(account, positions, orders, await self.risk_status(account))
