"""Each account's size rule chosen at run time (migration 014): it wins over the account's [[accounts]] table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading.store.executor import Executor


@dataclass(frozen=True, slots=True)
class StoredSizeRule:
    account: str  # the account's name, lower case
    multiplier: Decimal | None
    contracts: int | None
    changed_by: str
    changed_at: datetime


class SizeRuleRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, account: str) -> StoredSizeRule | None:
        r = await self._db.fetchrow(
            "SELECT account, multiplier, contracts, changed_by, changed_at FROM account_size_rules WHERE account = $1",
            account.strip().lower(),
        )
        if r is None:
            return None
        return StoredSizeRule(r["account"], r["multiplier"], r["contracts"], r["changed_by"], r["changed_at"])

    async def set(self, account: str, multiplier: Decimal | None, contracts: int | None, by: str) -> None:
        """One of `multiplier` and `contracts` (the table's CHECK refuses both or neither)."""
        await self._db.execute(
            """
            INSERT INTO account_size_rules (account, multiplier, contracts, changed_by, changed_at)
            VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (account) DO UPDATE SET multiplier = EXCLUDED.multiplier, contracts = EXCLUDED.contracts,
                changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at
            """,
            account.strip().lower(),
            multiplier,
            contracts,
            by,
        )

    async def reset(self, account: str) -> bool:
        """Back to the [[accounts]] table's rule; False when there was no stored rule."""
        gone = await self._db.fetchval(
            "WITH d AS (DELETE FROM account_size_rules WHERE account = $1 RETURNING 1) SELECT count(*) FROM d",
            account.strip().lower(),
        )
        return bool(gone)
