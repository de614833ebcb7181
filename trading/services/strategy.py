"""Strategies: list and status, and in the running engine start, stop, dry run and run-now."""

from __future__ import annotations

from typing import Any

from trading.calendar import to_ny
from trading.engine import current_trading_day
from trading.services.errors import NotFound
from trading.services.stats import RiskAndStats


class Strategies(RiskAndStats):
    """The strategy commands."""

    def strategy_names(self) -> list[str]:
        return self.control.names()

    def _strategy(self, name: str) -> str:
        key = name.strip().lower().replace("-", "_")
        if key not in self.strategy_names():
            raise NotFound(f"No strategy named {name!r}. Strategies: {', '.join(self.strategy_names())}")
        return key

    def strategy_list(self) -> list[dict[str, Any]]:
        out = []
        for name in self.strategy_names():
            cfg = getattr(self.settings.strategies, name, None)
            out.append(
                {
                    "name": name,
                    "enabled": bool(getattr(cfg, "enabled", False)),
                    "symbols": ", ".join(getattr(cfg, "symbols", ())),
                    "running": self.control.running(name),
                }
            )
        return out

    async def strategy_status(self, name: str) -> dict[str, Any]:
        key = self._strategy(name)
        now = self.clock.now()
        day = current_trading_day(now)  # the engine's trading day (from the 18:00 New York reopen)
        today = day.date if day is not None else to_ny(now).date()
        state = await self.store.strategy_state.for_day(key, today)
        return {"name": key, "day": today.isoformat(), **self.control.status(key), "symbols": state}

    async def strategy_start(self, name: str, by: str = "") -> str:
        """Start one strategy in the running engine (stays on across restarts); `by` names the operator."""
        return await self.control.start(self._strategy(name), by)

    async def strategy_stop(self, name: str, by: str = "") -> str:
        """Stop one strategy: no new orders from it (stays off across restarts)."""
        return await self.control.stop(self._strategy(name), by)

    async def strategy_test(self, name: str) -> dict[str, dict[str, Any]]:
        return await self.control.dry_run(self._strategy(name))

    async def strategy_run_now(self, name: str) -> str:
        return await self.control.run_now(self._strategy(name))
