"""The account's rule profile on the running engine: risk is marked after every fill and on the
healing loop (so open P&L moving against a position counts, not only closed trades), the kill-switch
trips it decides are carried out, the loss alerts raised, and positions closed at the flat time.

- A trip: a RISK notification (content-keyed: a restart does not repeat it); HALTED (daily loss,
  maximum loss) cancels every working order and closes every position; REDUCE-ONLY (profit target,
  daily profit cap) only refuses what would add exposure.
- Alerts: the daily and the maximum loss at each of `risk.alert_levels` (50, 75, 90 %) of their
  limit, once per trading day per rule and level; the outbox key (account, trading day, rule, level)
  keeps a restart from sending one again.
- Flat time: from the profile's flat time (16:10 ET) until the window reopens, a position or a working
  order left is flattened (cancel everything, close everything): once, then again every
  FLAT_RETRY_S while something is still open. Risk refuses opening orders meanwhile. The strategies'
  own flatten (15:55) comes first and usually leaves nothing to do.
- The risk state is saved when anything worth keeping changed (a trip, the day roll, the balance).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from trading import notifications
from trading.calendar import session_at
from trading.clock import Clock
from trading.config import Settings
from trading.domain import NotificationKind, Position
from trading.engine.order_index import OrderIndex
from trading.risk import Exposure, KillMode, RepositoryRiskStore, RiskManager, crossings
from trading.store import Store

log = logging.getLogger(__name__)

FLAT_RETRY_S = 30.0  # wall time between flat-time attempts while a position or order is still open


class RuledEngine(Protocol):
    settings: Settings
    store: Store
    clock: Clock
    account_id: int
    started: bool
    ready: bool
    risk: RiskManager
    book: OrderIndex
    positions: dict[str, Position]
    realized_today: Decimal
    _lock: asyncio.Lock

    def exposure(self) -> Exposure: ...

    def flatten_all(self, reason: str) -> Awaitable[dict[str, list[Any]]]: ...

    def _spawn(self, coro: Any, name: str) -> None: ...


def _kept(risk: RiskManager) -> tuple[Any, ...]:
    s = risk.state
    return (s.kill_mode, s.kill_reason, s.kill_automatic, s.trading_date, s.day_realized, s.high_water,
            s.balance, s.start_balance, s.goal_met, len(s.days), s.profile_since)  # fmt: skip


class RuleGuard:
    def __init__(self, engine: RuledEngine) -> None:
        self.engine = engine
        self._flat_tried: tuple[date, float] | None = None  # (trading date, monotonic time of the last try)
        self._saved: tuple[Any, ...] | None = None

    async def check(self) -> None:
        """The healing loop's turn: mark to market under the engine's lock, act, flatten at flat time."""
        e = self.engine
        if not e.started or not e.ready:
            return
        async with e._lock:
            await self.mark(save=False)
        self._flat_time()

    async def mark(self, save: bool = True) -> None:
        """Mark risk with the engine's exposure; carry out trips, raise alerts, save what changed (always
        when `save`: after a fill). The caller holds the engine's lock."""
        e = self.engine
        now = e.clock.now()
        await self._new_day(now)
        exposure = e.exposure()
        trips = e.risk.mark(exposure, now)
        day = "" if e.risk.state.trading_date is None else e.risk.state.trading_date.isoformat()
        for trip in trips:
            title = "Kill switch" if trip.mode is KillMode.HALTED else "Goal met: reduce-only"
            payload = dict(notifications.risk(title, trip.reason))
            once = notifications.content_key(NotificationKind.RISK, payload, day)
            await e.store.outbox.enqueue(NotificationKind.RISK, payload, dedupe_key=once)
            if trip.mode is KillMode.HALTED:  # cancel everything and flatten, outside the lock
                e._spawn(e.flatten_all(f"kill switch: {trip.reason}"), "engine-halt")
        for c in crossings(e.risk, exposure, now, e.settings.risk.alert_levels):
            pct = int(c.level * 100)
            text = f"{c.label}: {c.used} used of {c.limit} ({pct} % or more), {c.limit - c.used} left"
            await e.store.outbox.enqueue(
                NotificationKind.RISK,
                dict(notifications.risk(f"{c.label} {pct} % used", text)),
                dedupe_key=f"risk-level-{e.account_id}-{c.trading_date}-{c.rule}-{pct}",
            )
        kept = _kept(e.risk)
        if save or kept != self._saved:
            await e.risk.save(RepositoryRiskStore(e.store.risk_state), e.account_id)
            self._saved = kept

    async def _new_day(self, now: datetime) -> None:
        """At the 18:00 ET roll the engine's realized P&L still holds the finished day's (it is recounted
        at the next session event): recount it from the new session's open, so the new day starts at
        its own P&L (a daily-loss trip cleared at the roll must not trip again on yesterday's loss)."""
        e = self.engine
        session = session_at(now)
        known = e.risk.state.trading_date
        if session is None or known is None or session.date == known:
            return
        realized, fees = await e.store.fills.realized_pnl(e.account_id, session.open, now + timedelta(microseconds=1))
        e.realized_today = realized - fees

    def _flat_time(self) -> None:
        e = self.engine
        now = e.clock.now()
        if not e.risk.past_flat(now):
            return
        open_orders = bool(e.book.working)
        if not any(p.size for p in e.positions.values()) and not open_orders:
            return
        day = e.risk.state.trading_date
        if day is None:
            return
        tried = self._flat_tried
        if tried is not None and tried[0] == day and time.monotonic() - tried[1] < FLAT_RETRY_S:
            return
        self._flat_tried = (day, time.monotonic())
        flat = e.risk.profile.flat_time
        reason = f"flat time {flat:%H:%M} ET ({e.risk.profile.label}): no position past it" if flat else "flat time"
        log.warning("%s: flattening", reason)
        e._spawn(e.flatten_all(reason), "engine-flat-time")
