"""The kill switch (halt and resume: they flatten, so they sit over positions) and the statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trading import notifications
from trading.domain import (
    NotificationKind,
)
from trading.projectx.errors import ProjectXError
from trading.risk import KillMode
from trading.services.errors import BadInput
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

    def _kill_mode(self) -> tuple[KillMode, str]:
        state = self.engine.risk.state
        return state.kill_mode, state.kill_reason

    async def halt(self, reason: str) -> tuple[RiskView, Flattened]:
        """Trip the kill switch (HALTED: only flattening allowed), then cancel and close everything.
        Halting a halted account is refused: nothing changes."""
        mode, why = self._kill_mode()
        if mode is KillMode.HALTED:
            raise BadInput(f"Trading is already halted ({why or 'no reason given'}): nothing changed")
        reason = reason.strip() or "halted by an operator"
        await self.control.kill_switch(KillMode.HALTED, reason)
        flattened = await self.flatten(f"halted: {reason}")
        await self.store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Trading halted", reason)))
        return await self.risk_status(), flattened

    async def reduce_only(self, reason: str) -> RiskView:
        """Trip the kill switch to REDUCE-ONLY: orders that shrink a position still go (the brackets, a
        close), nothing that opens or adds; working orders and positions stay as they are."""
        mode, why = self._kill_mode()
        if mode is KillMode.HALTED:
            raise BadInput(f"Trading is halted ({why or 'no reason given'}), stricter than reduce-only: resume first")
        if mode is KillMode.REDUCE_ONLY:
            raise BadInput(f"Trading is already reduce-only ({why or 'no reason given'}): nothing changed")
        reason = reason.strip() or "reduce-only by an operator"
        await self.control.kill_switch(KillMode.REDUCE_ONLY, reason)
        await self.store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Trading reduce-only", reason)))
        return await self.risk_status()

    async def resume(self) -> RiskView:
        """Reset the kill switch; refused (nothing changes) when it is not set."""
        mode, _ = self._kill_mode()
        if mode is KillMode.OFF:
            raise BadInput("Trading is not halted: nothing to resume")
        await self.control.kill_switch(KillMode.OFF, "")
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
