"""Risk state per account: the kill switch and the day's running numbers, surviving restarts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from trading.store.executor import Executor, Record


class KillSwitch(enum.StrEnum):
    NONE = "none"  # trading allowed
    HALTED = "halted"  # no new orders at all
    REDUCE_ONLY = "reduce_only"  # only orders that shrink a position


@dataclass(frozen=True, slots=True)
class RiskState:
    account_id: int
    kill_switch: KillSwitch = KillSwitch.NONE
    reason: str = ""
    day: date | None = None
    day_realized_pnl: Decimal = Decimal(0)
    high_water_balance: Decimal | None = None
    updated_at: datetime | None = None


def _state(r: Record) -> RiskState:
    return RiskState(
        account_id=r["account_id"],
        kill_switch=KillSwitch(r["kill_switch"]),
        reason=r["reason"],
        day=r["day"],
        day_realized_pnl=r["day_realized_pnl"],
        high_water_balance=r["high_water_balance"],
        updated_at=r["updated_at"],
    )


class RiskStateRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, account_id: int) -> RiskState | None:
        r = await self._db.fetchrow("SELECT * FROM risk_state WHERE account_id = $1", account_id)
        return None if r is None else _state(r)

    async def save(self, state: RiskState, at: datetime | None = None) -> RiskState:
        r = await self._db.fetchrow(
            """
            INSERT INTO risk_state (account_id, kill_switch, reason, day, day_realized_pnl, high_water_balance,
                                    updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now()))
            ON CONFLICT (account_id) DO UPDATE SET kill_switch = EXCLUDED.kill_switch, reason = EXCLUDED.reason,
                day = EXCLUDED.day, day_realized_pnl = EXCLUDED.day_realized_pnl,
                high_water_balance = EXCLUDED.high_water_balance, updated_at = EXCLUDED.updated_at
            RETURNING *
            """,
            state.account_id,
            state.kill_switch.value,
            state.reason,
            state.day,
            state.day_realized_pnl,
            state.high_water_balance,
            at or state.updated_at,
        )
        return _state(r)

    async def set_kill_switch(
        self, account_id: int, mode: KillSwitch, reason: str, at: datetime | None = None
    ) -> RiskState:
        """Trip or reset the kill switch, leaving the day's numbers as they are."""
        r = await self._db.fetchrow(
            """
            INSERT INTO risk_state (account_id, kill_switch, reason, updated_at)
            VALUES ($1, $2, $3, coalesce($4, now()))
            ON CONFLICT (account_id) DO UPDATE SET kill_switch = EXCLUDED.kill_switch, reason = EXCLUDED.reason,
                updated_at = EXCLUDED.updated_at
            RETURNING *
            """,
            account_id,
            mode.value,
            reason,
            at,
        )
        return _state(r)
