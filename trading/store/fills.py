"""Fills (half-turn trades), stored once per broker trade id however often the hub repeats them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trading.domain import Fill, Side
from trading.store.executor import Executor, Record


def _fill(r: Record) -> Fill:
    return Fill(
        id=r["broker_trade_id"],
        order_id=r["broker_order_id"],
        account_id=r["account_id"],
        contract_id=r["contract_id"],
        side=Side(r["side"]),
        size=r["size"],
        price=r["price"],
        ts_event=r["ts_event"],
        fees=r["fees"],
        pnl=r["pnl"],
        voided=r["voided"],
        ts_init=r["ts_init"],
    )


class FillRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, fill: Fill) -> bool:
        """Store a fill; False when this broker trade id was already stored (a repeat is not a new fill)."""
        inserted = await self._db.fetchval(
            """
            INSERT INTO fills (broker_trade_id, broker_order_id, account_id, contract_id, side, size, price, fees,
                               pnl, voided, ts_event, ts_init)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (broker_trade_id) DO NOTHING
            RETURNING true
            """,
            fill.id,
            fill.order_id,
            fill.account_id,
            fill.contract_id,
            fill.side.value,
            fill.size,
            fill.price,
            fill.fees,
            fill.pnl,
            fill.voided,
            fill.ts_event,
            fill.ts_init,
        )
        return inserted is not None

    async def mark_voided(self, broker_trade_id: int) -> bool:
        """The broker voided a trade: keep it, flagged, so it no longer counts. False if unknown."""
        status: str = await self._db.execute(
            "UPDATE fills SET voided = true WHERE broker_trade_id = $1", broker_trade_id
        )
        return status.endswith(" 1")

    async def get(self, broker_trade_id: int) -> Fill | None:
        r = await self._db.fetchrow("SELECT * FROM fills WHERE broker_trade_id = $1", broker_trade_id)
        return None if r is None else _fill(r)

    async def for_order(self, broker_order_id: int) -> list[Fill]:
        rows = await self._db.fetch(
            "SELECT * FROM fills WHERE broker_order_id = $1 ORDER BY ts_event, broker_trade_id", broker_order_id
        )
        return [_fill(r) for r in rows]

    async def between(self, account_id: int, start: datetime, end: datetime) -> list[Fill]:
        """Fills with `start <= ts_event < end`, oldest first, voided ones included (flagged)."""
        rows = await self._db.fetch(
            """
            SELECT * FROM fills WHERE account_id = $1 AND ts_event >= $2 AND ts_event < $3
            ORDER BY ts_event, broker_trade_id
            """,
            account_id,
            start,
            end,
        )
        return [_fill(r) for r in rows]

    async def realized_pnl(self, account_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """(gross P&L, fees) of the non-voided fills in `[start, end)`, exact."""
        r = await self._db.fetchrow(
            """
            SELECT coalesce(sum(pnl), 0) AS pnl, coalesce(sum(fees), 0) AS fees FROM fills
            WHERE account_id = $1 AND ts_event >= $2 AND ts_event < $3 AND NOT voided
            """,
            account_id,
            start,
            end,
        )
        return Decimal(r["pnl"]), Decimal(r["fees"])

    async def mark_handled(self, broker_trade_id: int, at: datetime | None = None) -> None:
        """The engine told the fill's strategy, carried out what it asked and saved its state."""
        await self._db.execute(
            "UPDATE fills SET handled_at = coalesce($2, now()) WHERE broker_trade_id = $1 AND handled_at IS NULL",
            broker_trade_id,
            at,
        )

    async def unhandled(self, account_id: int) -> list[Fill]:
        """Fills stored but never handled (the process died in between), oldest first: handed over again."""
        rows = await self._db.fetch(
            """
            SELECT * FROM fills WHERE account_id = $1 AND handled_at IS NULL ORDER BY ts_event, broker_trade_id
            """,
            account_id,
        )
        return [_fill(r) for r in rows]
