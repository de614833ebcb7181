"""Position snapshots: what the broker said we held, and when. Flat is a snapshot of size 0."""

from __future__ import annotations

from datetime import datetime

from trading.domain import Position, PositionSide
from trading.store.executor import Executor, Record


def _position(r: Record) -> Position:
    return Position(
        account_id=r["account_id"],
        contract_id=r["contract_id"],
        side=PositionSide(r["side"]),
        size=r["size"],
        average_price=r["average_price"],
        opened_at=r["opened_at"],
        id=r["broker_position_id"],
    )


class PositionRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def record(self, position: Position, at: datetime | None = None) -> None:
        await self._db.execute(
            """
            INSERT INTO position_snapshots (account_id, contract_id, side, size, average_price, opened_at,
                                            broker_position_id, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))
            """,
            position.account_id,
            position.contract_id,
            position.side.value if position.size else None,
            position.size,
            position.average_price if position.size else None,
            position.opened_at,
            position.id,
            at,
        )

    async def record_flat(self, account_id: int, contract_id: str, at: datetime | None = None) -> None:
        await self._db.execute(
            """
            INSERT INTO position_snapshots (account_id, contract_id, size, at) VALUES ($1, $2, 0, coalesce($3, now()))
            """,
            account_id,
            contract_id,
            at,
        )

    async def current(self, account_id: int) -> list[Position]:
        """The latest snapshot per contract, leaving out contracts whose latest snapshot is flat."""
        rows = await self._db.fetch(
            """
            SELECT * FROM (
                SELECT DISTINCT ON (contract_id) * FROM position_snapshots WHERE account_id = $1
                ORDER BY contract_id, at DESC, id DESC
            ) latest WHERE size > 0 ORDER BY contract_id
            """,
            account_id,
        )
        return [_position(r) for r in rows]

    async def current_for(self, account_id: int, contract_id: str) -> Position | None:
        r = await self._db.fetchrow(
            """
            SELECT * FROM position_snapshots WHERE account_id = $1 AND contract_id = $2
            ORDER BY at DESC, id DESC LIMIT 1
            """,
            account_id,
            contract_id,
        )
        return None if r is None or r["size"] == 0 else _position(r)
