"""Strategies: list, status, and through a running engine start, stop, dry run and run-now."""

from __future__ import annotations

from typing import Any

from trading.services.core import _day_start
from trading.services.errors import NotFound, Unavailable
from trading.services.results import (
    StrategyControl,
)
from trading.services.stats import RiskAndStats


class Strategies(RiskAndStats):
    """The strategy commands."""

    def strategy_names(self) -> list[str]:
        if self.strategies is not None:
            return self.strategies.names()
        return list(type(self.settings.strategies).model_fields)

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
                    "running": self.strategies is not None and bool(self.strategies.status(name).get("running")),
                }
            )
        return out

    async def strategy_status(self, name: str) -> dict[str, Any]:
        key = self._strategy(name)
        today = _day_start(self.clock.now()).date()
        state = await self.store.strategy_state.for_day(key, today)
        live = self.strategies.status(key) if self.strategies is not None else {"running": False}
        return {"name": key, "day": today.isoformat(), **live, "symbols": state}

    def _engine(self) -> StrategyControl:
        if self.strategies is None:
            raise Unavailable("The strategy engine is not running in this process, so strategies cannot be driven")
        return self.strategies

    async def strategy_start(self, name: str, by: str = "") -> str:
        """Start one strategy in the running engine (stays on across restarts); `by` names the operator."""
        return await self._engine().start(self._strategy(name), by)

    async def strategy_stop(self, name: str, by: str = "") -> str:
        """Stop one strategy: no new orders from it (stays off across restarts)."""
        return await self._engine().stop(self._strategy(name), by)

    async def strategy_test(self, name: str) -> dict[str, dict[str, Any]]:
        return await self._engine().dry_run(self._strategy(name))

    async def strategy_run_now(self, name: str) -> str:
        return await self._engine().run_now(self._strategy(name))
