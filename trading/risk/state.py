"""What risk remembers across a restart, and how it is stored (risk_state and risk_days)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from trading.store.risk_state import KillSwitch, RiskDay
from trading.store.risk_state import RiskState as StoredRiskState


class KillMode(enum.StrEnum):
    OFF = "off"
    REDUCE_ONLY = "reduce_only"  # only orders that shrink a position
    HALTED = "halted"  # cancel working orders, flatten, refuse everything but flattening


@dataclass(frozen=True, slots=True)
class DayRecord:
    """A finished trading day: its realized P&L and the balance it ended with."""

    trading_date: date
    realized: Decimal
    end_balance: Decimal


@dataclass(frozen=True, slots=True)
class RiskState:
    """Everything risk must remember across a restart: plain data."""

    kill_mode: KillMode = KillMode.OFF
    kill_reason: str = ""
    kill_automatic: bool = False  # a daily trip (loss limit, profit cap): clears at the next trading day
    trading_date: date | None = None
    day_realized: Decimal = Decimal(0)
    day_pnl: Decimal = Decimal(0)  # realized + unrealized at the last mark (not persisted: re-marked)
    high_water: Decimal | None = None  # the END-OF-DAY balance high (raised only at the day roll)
    profile: str = "custom"
    profile_since: date | None = None  # the first trading day of this profile's numbers
    start_balance: Decimal | None = None  # the first balance seen (profiles that publish none)
    balance: Decimal | None = None  # the last realized balance seen: the day's end balance at the roll
    goal_met: bool = False  # the profit target was reached (its trip is not repeated after a reset)
    days: tuple[DayRecord, ...] = ()  # finished days since profile_since, oldest first
    cap_tripped: bool = False  # the daily profit cap tripped today (not persisted)
    alerted: frozenset[str] = frozenset()  # "rule:level" alerts raised today (the outbox dedupes restarts)


class RiskStateStore(Protocol):
    """Persistence hook; `RepositoryRiskStore` adapts the store's `risk_state` repository to it."""

    async def load(self, account_id: int) -> RiskState | None: ...

    async def save(self, account_id: int, state: RiskState) -> None: ...


AUTO = "auto: "  # reason prefix that marks an automatic (daily) trip in storage


class RepositoryRiskStore:
    """`RiskStateStore` over `trading.store.risk_state.RiskStateRepository` (`store.risk_state`)."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self._recorded: set[tuple[int, date]] = set()

    async def load(self, account_id: int) -> RiskState | None:
        row = await self.repo.get(account_id)
        if row is None:
            return None
        mode = KillMode.OFF if row.kill_switch.value == "none" else KillMode(row.kill_switch.value)
        auto = row.reason.startswith(AUTO)
        days = await self.repo.days(account_id, row.profile_since)
        self._recorded |= {(account_id, d.trading_date) for d in days}
        return RiskState(
            kill_mode=mode,
            kill_reason=row.reason.removeprefix(AUTO),
            kill_automatic=auto,
            trading_date=row.day,
            day_realized=row.day_realized_pnl,
            day_pnl=row.day_realized_pnl,
            high_water=row.high_water_balance,
            profile=row.profile,
            profile_since=row.profile_since,
            start_balance=row.start_balance,
            balance=row.last_balance,
            goal_met=row.goal_met,
            days=tuple(
                DayRecord(d.trading_date, d.realized_pnl, d.end_balance) for d in days if d.profile == row.profile
            ),
        )

    async def save(self, account_id: int, state: RiskState) -> None:
        # The newest finished day first (idempotent: the same numbers again change nothing); a day is
        # appended only at the roll, and the save after it writes it.
        for d in state.days[-1:]:
            if (account_id, d.trading_date) not in self._recorded:
                day = RiskDay(d.trading_date, d.realized, d.end_balance, state.profile)
                await self.repo.record_day(account_id, day)
                self._recorded.add((account_id, d.trading_date))
        switch = KillSwitch.NONE if state.kill_mode is KillMode.OFF else KillSwitch(state.kill_mode.value)
        await self.repo.save(
            StoredRiskState(
                account_id=account_id,
                kill_switch=switch,
                reason=(AUTO if state.kill_automatic else "") + state.kill_reason,
                day=state.trading_date,
                day_realized_pnl=state.day_realized,
                high_water_balance=state.high_water,
                profile=state.profile,
                profile_since=state.profile_since,
                start_balance=state.start_balance,
                last_balance=state.balance,
                goal_met=state.goal_met,
            )
        )


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    mode: KillMode
    reason: str
    at: datetime
