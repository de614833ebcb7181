"""Make the engine's store agree with the broker (at start and after every user-hub reconnect).

1. Orders: every order the broker has since the trading day's start (Order/search) is written to the
   store and the engine's view (its strategy told of any change); working orders in the store the
   broker no longer reports working are read one by one (searchById) and stored as they are. One the
   broker answers it does not know (OrderNotFound: a store written against another gateway or
   simulator, an order purged broker-side) cannot be working there: it is settled as cancelled, said
   in an alert, and does not stop the start (the broker's truth is that no such order can fill).
   An intent that never got a broker id is settled by the healer (healing.py): looked up by
   its customTag and attached if the broker has it, else sent again with the same tag (the broker
   refuses a second order with one tag), or, past the deadline, marked rejected and its strategy
   told: nothing is placed twice and nothing waits for a ghost.
2. Fills: today's trades (Trade/search) are inserted, idempotent by broker trade id; a fill missed
   during an outage is stored, notified and handed to its strategy exactly once. A fill stored but
   never marked handled (the process died before its strategy acted on it) is handed over again.
3. Positions: the broker's open positions replace the engine's view; the store gets a snapshot
   where it disagreed.
4. Check: the store's working orders must equal the broker's (bracket children still suspended
   behind a working entry count as agreeing). Only then does the engine accept new orders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from trading import notifications
from trading.calendar import TradingDay
from trading.clock import Clock
from trading.domain import Fill, NotificationKind, Order, OrderStatus, Position
from trading.engine.healing import Healer
from trading.projectx import schema as s
from trading.projectx.errors import ApiError, ProjectXError
from trading.projectx.rest import ProjectXClient
from trading.store import Store

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    orders_seen: int = 0
    fills_inserted: list[int] = field(default_factory=list)
    fills_handed_over: list[int] = field(default_factory=list)
    intents_resolved: list[str] = field(default_factory=list)
    positions_fixed: list[str] = field(default_factory=list)
    orders_unknown: list[int] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.mismatches


class ReconciledEngine(Protocol):
    """The engine (core.py) as a reconcile reads and corrects it."""

    client: ProjectXClient
    store: Store
    clock: Clock
    account_id: int
    day: TradingDay | None
    healer: Healer
    ready: bool
    positions: dict[str, Position]
    symbol_of: dict[str, str]
    realized_today: Decimal
    balance: Decimal

    @property
    def orders(self) -> Mapping[int, Order]: ...

    async def apply_order(self, order: Order, *, notify: bool = True) -> None: ...

    async def apply_fill(self, fill: Fill) -> bool: ...

    async def hand_over(self, fill: Fill) -> None: ...

    async def _follow(self, contract_id: str) -> None: ...


async def _read_again(engine: ReconciledEngine, stored: Order, report: ReconcileReport) -> Order:
    """The broker's state of an order the store holds working (searchById). An order the broker does
    not know is settled as cancelled: it cannot be working or fill there."""
    assert stored.id is not None  # working orders have a broker id (intents are the healer's)
    try:
        return await engine.client.order_by_id(engine.account_id, stored.id)
    except ApiError as exc:
        if exc.code != s.OrderByIdErrorCode.ORDER_NOT_FOUND:
            raise
    log.warning("order %s (%s) stored working, unknown to the broker: cancelled", stored.id, stored.custom_tag)
    report.orders_unknown.append(stored.id)
    return replace(stored, status=OrderStatus.CANCELLED, updated_at=engine.clock.now())


async def reconcile(engine: ReconciledEngine) -> ReconcileReport:
    report = ReconcileReport()
    client, store, account = engine.client, engine.store, engine.account_id
    now = engine.clock.now()
    since = engine.day.window_start if engine.day is not None else now - timedelta(days=1)
    since = min(since, now - timedelta(hours=1))

    # 1. orders
    broker_orders = sorted(await client.search_orders(account, since), key=lambda o: o.id or 0)
    for order in broker_orders:
        await engine.apply_order(order, notify=False)
    report.orders_seen = len(broker_orders)
    by_id = {o.id: o for o in broker_orders}
    for intent in await store.orders.intents(account):
        if await engine.healer.settle(intent):
            report.intents_resolved.append(intent.request.custom_tag)
    for stored in await store.orders.open_orders(account):
        if stored.id not in by_id or not by_id[stored.id].status.is_working:
            fresh = by_id.get(stored.id) or await _read_again(engine, stored, report)
            await engine.apply_order(fresh)

    # 2. fills
    for fill in sorted(await client.search_trades(account, since), key=lambda f: (f.ts_event, f.id)):
        if await engine.apply_fill(fill):
            report.fills_inserted.append(fill.id)
    for fill in await store.fills.unhandled(account):  # stored, but the process died before its strategy acted
        await engine.hand_over(fill)
        report.fills_handed_over.append(fill.id)
    realized, fees = await store.fills.realized_pnl(account, since, now + timedelta(seconds=1))
    engine.realized_today = realized - fees
    for a in await client.accounts():
        if a.id == account:
            engine.balance = a.balance

    # 3. positions
    broker_positions = {p.contract_id: p for p in await client.open_positions(account)}
    stored_positions = {p.contract_id: p for p in await store.positions.current(account)}
    engine.positions = dict(broker_positions)
    for cid in broker_positions.keys() - engine.symbol_of.keys():
        # a position on a contract no strategy trades (a manual order before a restart, the broker's own
        # platform): followed on the market feed so it is marked to market and price-checked like any other
        try:
            await engine._follow(cid)
        except ProjectXError as exc:
            log.warning("cannot follow the position's contract %s: %s", cid, exc)
    for cid, p in broker_positions.items():
        s = stored_positions.get(cid)
        if s is None or (s.side, s.size, s.average_price) != (p.side, p.size, p.average_price):
            await store.positions.record(p, at=now)
            report.positions_fixed.append(cid)
    for cid in stored_positions.keys() - broker_positions.keys():
        await store.positions.record_flat(account, cid, at=now)
        report.positions_fixed.append(cid)

    # 4. agreement
    open_ids = {o.id for o in await client.search_open_orders(account)}
    working = await store.orders.open_orders(account)  # intents still unsettled are the healer's
    stored_ids = {o.id for o in working}
    for o in working:
        parent = engine.orders.get(o.parent_id) if o.parent_id is not None else None
        hidden_child = o.status is OrderStatus.SUSPENDED and parent is not None and parent.status.is_working
        if o.id not in open_ids and not hidden_child:
            # changed since step 1 (often by us: an OCO cancel the missed fill caused): read it again
            latest = await _read_again(engine, o, report) if o.id is not None else None
            if latest is not None:
                await engine.apply_order(latest)
            if latest is None or latest.status.is_working:
                report.mismatches.append(
                    f"store has order {o.id} ({o.custom_tag}) {o.status.value}; the broker does not"
                )
    for oid in open_ids - stored_ids:
        report.mismatches.append(f"the broker has working order {oid}; the store does not")
    engine.ready = report.agrees and not engine.healer.held  # held events first, then trade
    if report.orders_unknown:
        ids = ", ".join(f"#{i}" for i in report.orders_unknown[:10])
        await store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(
                notifications.alert(
                    "Orders unknown to the broker",
                    f"stored working but unknown to the broker (OrderNotFound): {ids}; settled as cancelled",
                )
            ),
        )
    if not report.agrees:
        await store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(notifications.alert("Reconciliation disagrees: no new orders", "; ".join(report.mismatches[:10]))),
        )
    elif report.fills_inserted or report.intents_resolved:
        await store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(
                notifications.alert(
                    "Reconciled with the broker",
                    f"{len(report.fills_inserted)} missed fill(s) stored, "
                    f"{len(report.intents_resolved)} unsent intent(s) resolved",
                )
            ),
        )
    return report
