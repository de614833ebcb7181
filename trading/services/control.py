"""The strategy commands' view of the running engine (what `Services` asks of it for strategies).

- start / stop: one strategy on or off while the engine runs, stored (`strategy_control`) so a
  restart keeps the operator's choice over the settings' `enabled`.
- run-now: the strategy's current session step (the newest of today's pre-open, open, last entry,
  flatten, summary whose time has come) run at once, through the engine's usual path: risk before
  every order, intents before placement, the strategy's own once-per-side state and customTags.
- dry run: today's open worked out on the engine's data, placing nothing (trading/engine/dryrun.py).
"""

from __future__ import annotations

from typing import Any

from trading.calendar import to_ny
from trading.engine import Engine, current_trading_day
from trading.engine.dryrun import dry_run
from trading.engine.jobs import SESSION_JOBS, day_plan
from trading.risk import KillMode, RepositoryRiskStore
from trading.services.errors import Unavailable
from trading.strategies import STRATEGIES


class EngineControl:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def names(self) -> list[str]:
        """The engine's strategies, then every other configured one (so it can be started)."""
        loaded = list(self.engine.strategy_names)
        configured = [n for n in STRATEGIES if hasattr(self.engine.settings.strategies, n)]
        return loaded + [n for n in configured if n not in loaded]

    def running(self, name: str) -> bool:
        e = self.engine
        return e.started and name in e.strategies and name not in e.disabled

    def status(self, name: str) -> dict[str, Any]:
        running = self.running(name)
        return {
            "running": running,
            "stopped by an operator": name in self.engine.disabled,
            "working orders": len([o for o in self.engine.orders_of(name) if o.status.is_working]),
            "engine ready": self.engine.ready,
        }

    async def start(self, name: str, by: str = "") -> str:
        if not await self.engine.enable(name, by):
            return f"{name} is already running"
        symbols = ", ".join(self.engine.strategies[name].symbols)
        return f"{name} started ({symbols}): it takes the next session steps; it stays on after a restart"

    async def stop(self, name: str, by: str = "") -> str:
        if not await self.engine.disable(name, by):
            return f"{name} is already stopped"
        working = len([o for o in self.engine.orders_of(name) if o.status.is_working])
        left = f"; its {working} working order(s) stay at the broker" if working else ""
        return f"{name} stopped: no new orders from it, and it stays stopped after a restart{left}"

    async def run_now(self, name: str) -> str:
        e = self.engine
        if not self.running(name):
            raise Unavailable(f"{name} is stopped: start it with /strategy start first")
        now = e.clock.now()
        day = current_trading_day(now)
        if day is None:
            raise Unavailable("No trading day today: nothing to run")
        plan = sorted(day_plan(day, e.settings), key=lambda o: o.at)
        due = [o for o in plan if o.at <= now]
        if not due:
            first = plan[0]
            raise Unavailable(
                f"Nothing to run yet: the first step of {day.date.isoformat()} ({first.job}) is at "
                f"{to_ny(first.at):%H:%M} New York"
            )
        step = due[-1]
        placed = await e.session_event(SESSION_JOBS[step.job], day, only=name)
        return f"{name}: ran the {step.job} step of {day.date.isoformat()} now; {placed} order(s) sent to the broker"

    async def kill_switch(self, mode: KillMode, reason: str) -> None:
        """Set the kill switch (OFF resets it) and store it: a restart keeps it."""
        risk = self.engine.risk
        if mode is KillMode.OFF:
            risk.reset()
        else:
            risk.trip(mode, reason, self.engine.clock.now())
        await risk.save(RepositoryRiskStore(self.engine.store.risk_state), self.engine.account_id)

    async def dry_run(self, name: str) -> dict[str, dict[str, Any]]:
        day = current_trading_day(self.engine.clock.now())
        if day is None:
            raise Unavailable("No trading day today: nothing to test")
        if name not in self.engine.strategies:
            raise Unavailable(f"{name} is not loaded in the engine: start it with /strategy start")
        return dry_run(self.engine, name, day)
