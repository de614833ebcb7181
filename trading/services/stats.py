"""The kill switch (halt and resume: they flatten, so they sit over positions) and the statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trading import notifications
from trading.domain import (
    NotificationKind,
)
from trading.projectx.errors import ProjectXError
from trading.services.positions import Positions
from trading.services.results import (
    Flattened,
    Health,
    RiskView,
)
from trading.store.jobs import JobRun
from trading.store.latency import LatencyStats
from trading.store.outbox import OutboxMessage


class RiskAndStats(Positions):
    """Halt and resume; latency, jobs, notifications and health."""

    async def halt(self, reason: str) -> tuple[RiskView, Flattened]:
        """Trip the kill switch (HALTED: only flattening allowed), then cancel and close everything."""
        reason = reason.strip() or "halted by an operator"
        await self.control.kill_switch(True, reason)
        flattened = await self.flatten(f"halted: {reason}")
        await self.store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Trading halted", reason)))
        return await self.risk_status(), flattened

    async def resume(self) -> RiskView:
        await self.control.kill_switch(False, "")
        await self.store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Trading resumed", "")))
        return await self.risk_status()

    async def latency(self, hours: float = 24.0) -> list[LatencyStats]:
        return await self.store.latency.stats(self.clock.now() - timedelta(hours=hours))

    async def jobs(self, limit: int = 20) -> list[JobRun]:
        return await self.store.jobs.recent(limit)

    async def notifications(self, limit: int = 20) -> tuple[int, list[OutboxMessage]]:
        return await self.store.outbox.pending_count(), await self.store.outbox.recent(limit)

    async def notify(
        self, kind: NotificationKind, payload: dict[str, Any], dedupe_key: str | None = None
    ) -> int | None:
        """Queue a notification (reports, announcements); None when `dedupe_key` was queued before."""
        return await self.store.outbox.enqueue(kind, payload, dedupe_key)

    async def health(self) -> Health:
        try:
            broker_ok = await self.broker.ping()
            detail = "reachable" if broker_ok else "not answering"
        except ProjectXError as exc:
            broker_ok, detail = False, str(exc)
        try:
            pending = await self.store.outbox.pending_count()
            db_ok = True
        except Exception:
            pending, db_ok = -1, False
        return Health(broker_ok, detail, db_ok, pending, self.account_id)
