"""Contracts as the broker describes them (tick size and value), cached for sessions and backtests."""

from __future__ import annotations

from datetime import datetime

from trading.domain import Contract
from trading.store.executor import Executor, Record


def _contract(r: Record) -> Contract:
    return Contract(
        id=r["id"],
        name=r["name"],
        symbol_id=r["symbol_id"],
        description=r["description"],
        tick_size=r["tick_size"],
        tick_value=r["tick_value"],
        active=r["active"],
    )


class ContractRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def upsert(self, contract: Contract, at: datetime | None = None) -> None:
        await self._db.execute(
            """
            INSERT INTO contracts (id, name, symbol_id, description, tick_size, tick_value, active, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))
            ON CONFLICT (id) DO UPDATE SET
                name = EXCLUDED.name, symbol_id = EXCLUDED.symbol_id, description = EXCLUDED.description,
                tick_size = EXCLUDED.tick_size, tick_value = EXCLUDED.tick_value, active = EXCLUDED.active,
                updated_at = EXCLUDED.updated_at
            """,
            contract.id,
            contract.name,
            contract.symbol_id,
            contract.description,
            contract.tick_size,
            contract.tick_value,
            contract.active,
            at,
        )

    async def get(self, contract_id: str) -> Contract | None:
        r = await self._db.fetchrow("SELECT * FROM contracts WHERE id = $1", contract_id)
        return None if r is None else _contract(r)

    async def by_symbol(self, symbol: str, *, active_only: bool = True) -> list[Contract]:
        """Contracts of a root symbol (MNQ), matched on the last part of the symbolId, newest first."""
        rows = await self._db.fetch(
            """
            SELECT * FROM contracts
            WHERE split_part(symbol_id, '.', -1) = $1 AND (active OR NOT $2)
            ORDER BY updated_at DESC, id
            """,
            symbol,
            active_only,
        )
        return [_contract(r) for r in rows]

    async def all(self) -> list[Contract]:
        return [_contract(r) for r in await self._db.fetch("SELECT * FROM contracts ORDER BY id")]
