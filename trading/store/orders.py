"""Orders: the intent written before placement, the broker id attached after, every status change kept.

A row is found by our `custom_tag` (orders we place) or by the broker's order id (every order the user
hub reports, including ones placed in the TopstepX UI, which carry no tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from trading.domain import Bracket, Order, OrderRequest, OrderStatus, OrderType, Side
from trading.store.errors import DuplicateOrderTag, UnknownOrder
from trading.store.executor import Connection, Executor, Record, connection, fetchrow_now

_WORKING = [s.value for s in OrderStatus if s.is_working]

# The intent and its first history row in one statement: a data-modifying CTE runs in the statement's
# own transaction, so both rows land or neither (a duplicate tag fails the whole statement).
_INTENT = """
WITH o AS (
    INSERT INTO orders (custom_tag, account_id, contract_id, side, type, size, limit_price, stop_price, trail_price,
                        stop_loss_ticks, take_profit_ticks, status, reason, strategy, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'intent', $12, $13,
            coalesce($14, now()), coalesce($14, now()))
    RETURNING *
), h AS (
    INSERT INTO order_status_history (order_id, status, detail, at)
    SELECT id, 'intent', $12, coalesce($14, now()) FROM o
)
SELECT * FROM o
"""

_SETTLE = """
WITH o AS (
    UPDATE orders SET broker_order_id = $2, status = $3, updated_at = coalesce($4, now())
    WHERE custom_tag = $1 AND broker_order_id IS NULL AND ($5::bigint IS NULL OR account_id = $5)
    RETURNING id
), h AS (
    INSERT INTO order_status_history (order_id, status, detail, at)
    SELECT id, $3, 'broker id ' || $2::bigint, coalesce($4, now()) FROM o
)
SELECT id FROM o
"""


@dataclass(frozen=True, slots=True)
class Intent:
    """An order written before it was sent that has no broker id yet: the request as it was asked."""

    request: OrderRequest
    strategy: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One row of an order's status history."""

    status: OrderStatus
    detail: str
    at: datetime


def _order(r: Record) -> Order:
    return Order(
        id=r["broker_order_id"],
        account_id=r["account_id"],
        contract_id=r["contract_id"],
        side=Side(r["side"]),
        type=OrderType(r["type"]),
        size=r["size"],
        status=OrderStatus(r["status"]),
        custom_tag=r["custom_tag"],
        limit_price=r["limit_price"],
        stop_price=r["stop_price"],
        trail_price=r["trail_price"],
        fill_volume=r["fill_volume"],
        filled_price=r["filled_price"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        parent_id=r["parent_id"],
        linked_id=r["linked_id"],
    )


def _intent(r: Record) -> Intent:
    sl, tp = r["stop_loss_ticks"], r["take_profit_ticks"]
    request = OrderRequest(
        account_id=r["account_id"],
        contract_id=r["contract_id"],
        side=Side(r["side"]),
        type=OrderType(r["type"]),
        size=r["size"],
        custom_tag=r["custom_tag"],
        limit_price=r["limit_price"],
        stop_price=r["stop_price"],
        trail_price=r["trail_price"],
        bracket=Bracket(sl, tp) if sl is not None or tp is not None else None,
        reason=r["reason"] or "",
    )
    return Intent(request, r["strategy"], r["created_at"])


async def _history(conn: Connection, row_id: int, status: OrderStatus, detail: str, at: datetime | None) -> None:
    await conn.execute(
        "INSERT INTO order_status_history (order_id, status, detail, at) VALUES ($1, $2, $3, coalesce($4, now()))",
        row_id,
        status.value,
        detail,
        at,
    )


class OrderRepository:
    def __init__(self, db: Executor, account: int | None = None) -> None:
        self._db = db
        # A customTag is unique per account (migration 009): a store scoped to one account looks tags up
        # in that account only; unscoped (a single-account process), in every row.
        self._account = account

    async def record_intent(
        self, request: OrderRequest, strategy: str | None = None, at: datetime | None = None
    ) -> Order:
        """Write the order before it is sent (status `intent`). Raises `DuplicateOrderTag` if the tag exists.

        One statement (the row and its first history row, atomic as any statement is) and, on a pool, the
        connection's reset left out of the wait (`fetchrow_now`): this write sits between a tick and its
        order, so it costs one round trip."""
        bracket = request.bracket
        try:
            r = await fetchrow_now(
                self._db,
                _INTENT,
                request.custom_tag,
                request.account_id,
                request.contract_id,
                request.side.value,
                request.type.value,
                request.size,
                request.limit_price,
                request.stop_price,
                request.trail_price,
                bracket.stop_loss_ticks if bracket else None,
                bracket.take_profit_ticks if bracket else None,
                request.reason,
                strategy,
                at,
            )
        except asyncpg.UniqueViolationError:
            raise DuplicateOrderTag(request.custom_tag) from None
        return _order(r)

    async def settle_intent(self, custom_tag: str, broker_order_id: int, at: datetime | None = None) -> bool:
        """The broker accepted the order sent for an intent: attach its id and move it to `open`, unless an
        id is attached already (the user hub's report of the order can arrive first). One statement;
        True when this call attached it."""
        # Scoped by account: two accounts of one process running one strategy share its deterministic tags.
        r = await fetchrow_now(
            self._db, _SETTLE, custom_tag, broker_order_id, OrderStatus.OPEN.value, at, self._account
        )
        return r is not None

    async def attach_broker_id(
        self,
        custom_tag: str,
        broker_order_id: int,
        status: OrderStatus = OrderStatus.OPEN,
        at: datetime | None = None,
    ) -> Order:
        """The broker accepted the order: remember its id and move the intent to `status`."""
        async with connection(self._db) as conn, conn.transaction():
            r = await conn.fetchrow(
                """
                UPDATE orders SET broker_order_id = $2, status = $3, updated_at = coalesce($4, now())
                WHERE custom_tag = $1 AND ($5::bigint IS NULL OR account_id = $5) RETURNING *
                """,
                custom_tag,
                broker_order_id,
                status.value,
                at,
                self._account,
            )
            if r is None:
                raise UnknownOrder(f"no order with tag {custom_tag!r} was recorded before placement")
            await _history(conn, r["id"], status, f"broker id {broker_order_id}", at)
        return _order(r)

    async def update_status(
        self,
        *,
        custom_tag: str | None = None,
        broker_order_id: int | None = None,
        status: OrderStatus,
        detail: str = "",
        fill_volume: int | None = None,
        filled_price: Decimal | None = None,
        at: datetime | None = None,
    ) -> Order:
        """Move an order (found by tag or broker id) to `status`; a history row is written only on a change.

        A rejection before the broker assigned an id is recorded by tag, with `detail` as the error.
        """
        if (custom_tag is None) == (broker_order_id is None):
            raise ValueError("update_status needs exactly one of custom_tag or broker_order_id")
        column, key = ("custom_tag", custom_tag) if custom_tag is not None else ("broker_order_id", broker_order_id)
        async with connection(self._db) as conn, conn.transaction():
            before = await conn.fetchrow(
                f"SELECT id, status FROM orders WHERE {column} = $1 AND ($2::bigint IS NULL OR account_id = $2) "
                "FOR UPDATE",
                key,
                self._account,
            )
            if before is None:
                raise UnknownOrder(f"no stored order with {column.replace('_', ' ')} {key!r}")
            r = await conn.fetchrow(
                """
                UPDATE orders SET status = $2, fill_volume = coalesce($3, fill_volume),
                    filled_price = coalesce($4, filled_price), updated_at = coalesce($5, now()),
                    error = CASE WHEN $2 = 'rejected' AND $6 <> '' THEN $6 ELSE error END
                WHERE id = $1 RETURNING *
                """,
                before["id"],
                status.value,
                fill_volume,
                filled_price,
                at,
                detail,
            )
            if before["status"] != status.value:
                await _history(conn, r["id"], status, detail, at)
        return _order(r)

    async def upsert_broker_order(self, order: Order, at: datetime | None = None) -> Order:
        """Store what the broker reports about an order (`order.id` is its broker id).

        Matched by broker id, else by custom tag (attaching the broker id to our intent), else inserted:
        an order placed outside tradebot is stored too, so open orders and reconciliation see it.
        """
        if order.id is None:
            raise ValueError("a broker order must carry its broker id")
        async with connection(self._db) as conn, conn.transaction():
            before = await conn.fetchrow(
                """
                SELECT id, status FROM orders
                WHERE broker_order_id = $1 OR (custom_tag IS NOT NULL AND custom_tag = $2 AND account_id = $3)
                ORDER BY (broker_order_id = $1) DESC NULLS LAST LIMIT 1 FOR UPDATE
                """,
                order.id,
                order.custom_tag,
                order.account_id,
            )
            values = (
                order.id,
                order.account_id,
                order.contract_id,
                order.side.value,
                order.type.value,
                order.size,
                order.limit_price,
                order.stop_price,
                order.trail_price,
                order.status.value,
                order.fill_volume,
                order.filled_price,
                order.parent_id,
                order.linked_id,
                at or order.updated_at,
            )
            if before is None:
                r = await conn.fetchrow(
                    """
                    INSERT INTO orders (broker_order_id, account_id, contract_id, side, type, size, limit_price,
                                        stop_price, trail_price, status, fill_volume, filled_price, parent_id,
                                        linked_id, created_at, updated_at, custom_tag)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                            coalesce($16, $15, now()), coalesce($15, now()), $17)
                    RETURNING *
                    """,
                    *values,
                    order.created_at,
                    order.custom_tag,
                )
            else:
                r = await conn.fetchrow(
                    """
                    UPDATE orders SET broker_order_id = $1, account_id = $2, contract_id = $3, side = $4, type = $5,
                        size = $6, limit_price = $7, stop_price = $8, trail_price = $9, status = $10,
                        fill_volume = $11, filled_price = coalesce($12, filled_price),
                        parent_id = coalesce($13, parent_id), linked_id = coalesce($14, linked_id),
                        updated_at = coalesce($15, now())
                    WHERE id = $16 RETURNING *
                    """,
                    *values,
                    before["id"],
                )
            if before is None or before["status"] != order.status.value:
                await _history(conn, r["id"], order.status, "broker", at or order.updated_at)
        return _order(r)

    async def by_tag(self, custom_tag: str) -> Order | None:
        r = await self._db.fetchrow(
            "SELECT * FROM orders WHERE custom_tag = $1 AND ($2::bigint IS NULL OR account_id = $2)",
            custom_tag,
            self._account,
        )
        return None if r is None else _order(r)

    async def by_broker_id(self, broker_order_id: int) -> Order | None:
        r = await self._db.fetchrow("SELECT * FROM orders WHERE broker_order_id = $1", broker_order_id)
        return None if r is None else _order(r)

    async def open_orders(
        self, account_id: int | None = None, *, strategy: str | None = None, include_intents: bool = False
    ) -> list[Order]:
        """Working orders (pending, open, suspended, pending cancel), oldest first.

        `include_intents` adds orders written but never acknowledged: after a crash those must be
        reconciled with the broker by tag.
        """
        statuses = [*_WORKING, OrderStatus.INTENT.value] if include_intents else _WORKING
        rows = await self._db.fetch(
            """
            SELECT * FROM orders
            WHERE status = ANY($1::text[]) AND ($2::bigint IS NULL OR account_id = $2)
              AND ($3::text IS NULL OR strategy = $3)
            ORDER BY created_at, id
            """,
            statuses,
            account_id,
            strategy,
        )
        return [_order(r) for r in rows]

    async def intents(self, account_id: int) -> list[Intent]:
        """Intents of the account still without a broker id, oldest first (to be settled)."""
        rows = await self._db.fetch(
            """
            SELECT * FROM orders WHERE status = 'intent' AND broker_order_id IS NULL AND account_id = $1
            ORDER BY created_at, id
            """,
            account_id,
        )
        return [_intent(r) for r in rows]

    async def history(self, custom_tag: str | None = None, broker_order_id: int | None = None) -> list[OrderEvent]:
        """Every status the order went through, oldest first."""
        rows = await self._db.fetch(
            """
            SELECT h.status, h.detail, h.at FROM order_status_history h JOIN orders o ON o.id = h.order_id
            WHERE (($1::text IS NOT NULL AND o.custom_tag = $1) OR ($2::bigint IS NOT NULL AND o.broker_order_id = $2))
              AND ($3::bigint IS NULL OR o.account_id = $3)
            ORDER BY h.id
            """,
            custom_tag,
            broker_order_id,
            self._account,
        )
        return [OrderEvent(OrderStatus(r["status"]), r["detail"], r["at"]) for r in rows]

    async def strategy_of(self, custom_tag: str) -> str | None:
        value: str | None = await self._db.fetchval(
            "SELECT strategy FROM orders WHERE custom_tag = $1 AND ($2::bigint IS NULL OR account_id = $2)",
            custom_tag,
            self._account,
        )
        return value
