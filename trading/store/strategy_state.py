"""Per-strategy, per-trading-day, per-symbol state (a JSON object), so a restart resumes the session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from trading.store.executor import Executor


class StrategyStateRepository:
    def __init__(self, db: Executor, account: int = 0) -> None:
        self._db = db
        self._account = account  # 0: the one account of a single-account process (migration 009)

    async def save(
        self, strategy: str, trading_day: date, symbol: str, state: dict[str, Any], at: datetime | None = None
    ) -> None:
        await self._db.execute(
            """
            INSERT INTO strategy_state (strategy, trading_day, symbol, state, updated_at, account_id)
            VALUES ($1, $2, $3, $4, coalesce($5, now()), $6)
            ON CONFLICT (account_id, strategy, trading_day, symbol) DO UPDATE SET state = EXCLUDED.state,
                updated_at = EXCLUDED.updated_at
            """,
            strategy,
            trading_day,
            symbol,
            state,
            at,
            self._account,
        )

    async def load(self, strategy: str, trading_day: date, symbol: str) -> dict[str, Any] | None:
        state: dict[str, Any] | None = await self._db.fetchval(
            """
            SELECT state FROM strategy_state
            WHERE strategy = $1 AND trading_day = $2 AND symbol = $3 AND account_id = $4
            """,
            strategy,
            trading_day,
            symbol,
            self._account,
        )
        return state

    async def for_day(self, strategy: str, trading_day: date) -> dict[str, dict[str, Any]]:
        """Every symbol's state for the day, by symbol."""
        rows = await self._db.fetch(
            """
            SELECT symbol, state FROM strategy_state WHERE strategy = $1 AND trading_day = $2 AND account_id = $3
            ORDER BY symbol
            """,
            strategy,
            trading_day,
            self._account,
        )
        return {r["symbol"]: r["state"] for r in rows}

    async def set_enabled(self, strategy: str, enabled: bool, by: str = "", at: datetime | None = None) -> None:
        """An operator's start/stop of a strategy (overrides the settings' `enabled` across restarts)."""
        await self._db.execute(
            """
            INSERT INTO strategy_control (strategy, enabled, changed_by, updated_at, account_id)
            VALUES ($1, $2, $3, coalesce($4, now()), $5)
            ON CONFLICT (account_id, strategy) DO UPDATE SET enabled = EXCLUDED.enabled,
                changed_by = EXCLUDED.changed_by, updated_at = EXCLUDED.updated_at
            """,
            strategy,
            enabled,
            by,
            at,
            self._account,
        )

    async def enabled_overrides(self) -> dict[str, bool]:
        """Strategies an operator started (True) or stopped (False), by name."""
        rows = await self._db.fetch(
            "SELECT strategy, enabled FROM strategy_control WHERE account_id = $1 ORDER BY strategy", self._account
        )
        return {r["strategy"]: r["enabled"] for r in rows}
