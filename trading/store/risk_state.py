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
    high_water_balance: Decimal | None = None  # the end-of-day balance high (migration 006)
    updated_at: datetime | None = None
    profile: str = "custom"
    profile_since: date | None = None
    start_balance: Decimal | None = None
    last_balance: Decimal | None = None
    goal_met: bool = False


@dataclass(frozen=True, slots=True)
class RiskDay:
    """A finished trading day as risk recorded it at the roll."""

    trading_date: date
    realized_pnl: Decimal
    end_balance: Decimal
    profile: str = "custom"


def _state(r: Record) -> RiskState:
    return RiskState(
        account_id=r["account_id"],
        kill_switch=KillSwitch(r["kill_switch"]),
        reason=r["reason"],
        day=r["day"],
        day_realized_pnl=r["day_realized_pnl"],
        high_water_balance=r["high_water_balance"],
        updated_at=r["updated_at"],
        profile=r["profile"],
        profile_since=r["profile_since"],
        start_balance=r["start_balance"],
        last_balance=r["last_balance"],
        goal_met=r["goal_met"],
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
                                    updated_at, profile, profile_since, start_balance, last_balance, goal_met)
            VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now()), $8, $9, $10, $11, $12)
            ON CONFLICT (account_id) DO UPDATE SET kill_switch = EXCLUDED.kill_switch, reason = EXCLUDED.reason,
                day = EXCLUDED.day, day_realized_pnl = EXCLUDED.day_realized_pnl,
                high_water_balance = EXCLUDED.high_water_balance, updated_at = EXCLUDED.updated_at,
                profile = EXCLUDED.profile, profile_since = EXCLUDED.profile_since,
                start_balance = EXCLUDED.start_balance, last_balance = EXCLUDED.last_balance,
                goal_met = EXCLUDED.goal_met
            RETURNING *
            """,
            state.account_id,
            state.kill_switch.value,
            state.reason,
            state.day,
            state.day_realized_pnl,
            state.high_water_balance,
            at or state.updated_at,
            state.profile,
            state.profile_since,
            state.start_balance,
            state.last_balance,
            state.goal_met,
        )
        return _state(r)

    async def record_day(self, account_id: int, day: RiskDay) -> None:
        """A finished trading day (written again with the same numbers after a restart: no change)."""
        await self._db.execute(
            """
            INSERT INTO risk_days (account_id, trading_date, realized_pnl, end_balance, profile)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (account_id, trading_date) DO UPDATE SET realized_pnl = EXCLUDED.realized_pnl,
                end_balance = EXCLUDED.end_balance, profile = EXCLUDED.profile
            """,
            account_id,
            day.trading_date,
            day.realized_pnl,
            day.end_balance,
            day.profile,
        )

    async def days(self, account_id: int, since: date | None = None) -> list[RiskDay]:
        """The recorded days of the account (from `since` on), oldest first."""
        rows = await self._db.fetch(
            """
            SELECT trading_date, realized_pnl, end_balance, profile FROM risk_days
            WHERE account_id = $1 AND ($2::date IS NULL OR trading_date >= $2) ORDER BY trading_date
            """,
            account_id,
            since,
        )
        return [RiskDay(r["trading_date"], r["realized_pnl"], r["end_balance"], r["profile"]) for r in rows]

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
