"""The strategy commands' view of a running engine (`trading.services.StrategyControl`)."""

from __future__ import annotations

from typing import Any

from trading import native
from trading.domain import Quote
from trading.engine import Engine, current_trading_day
from trading.execution import Executor, LatencyRecorder, PythonExecutor, RustExecutor
from trading.projectx.rest import ProjectXClient
from trading.risk import KillMode, RepositoryRiskStore
from trading.services import Unavailable


class EngineStrategies:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def names(self) -> list[str]:
        return list(self.engine.strategy_names)

    def status(self, name: str) -> dict[str, Any]:
        running = self.engine.started and name in self.engine.strategies
        return {
            "running": running,
            "working orders": len(self.engine.orders_of(name)) if running else 0,
            "engine ready": self.engine.ready,
        }

    async def start(self, name: str) -> str:
        if name in self.engine.strategies:
            return f"{name} is already running"
        raise Unavailable(
            f"The engine cannot add a strategy while it runs: enable [strategies.{name}] and restart the bot"
        )

    async def stop(self, name: str) -> str:
        raise Unavailable(
            "The engine cannot stop one strategy while it runs yet: use /risk halt to stop new orders, "
            f"or disable [strategies.{name}] and restart"
        )

    async def kill_switch(self, halted: bool, reason: str) -> None:
        risk = self.engine.risk
        if halted:
            risk.trip(KillMode.HALTED, reason, self.engine.clock.now())
        else:
            risk.reset()
        await risk.save(RepositoryRiskStore(self.engine.store.risk_state), self.engine.account_id)

    def live_quote(self, contract_id: str) -> Quote | None:
        return self.engine.quotes.get(contract_id)

    async def dry_run(self, name: str) -> dict[str, dict[str, Any]]:
        """Today's levels from the bars the engine holds now; places nothing."""
        strategy = self.engine.strategies.get(name)
        if strategy is None:
            raise Unavailable(f"{name} is not running in the engine")
        levels = getattr(strategy, "levels", None)
        day = current_trading_day(self.engine.clock.now())
        if levels is None or day is None:
            raise Unavailable(f"{name} has no levels to show today")
        out: dict[str, dict[str, Any]] = {}
        for symbol in strategy.symbols:
            contract = self.engine.contracts.get(symbol)
            lv = levels(symbol, day, min(self.engine.clock.now(), day.window_end))
            out[symbol] = lv.as_json(contract.tick_size if contract else None)
        return out

    async def run_now(self, name: str) -> str:
        raise Unavailable("Running a strategy step on demand is not supported by the engine yet")


async def make_executor(client: ProjectXClient, metrics: LatencyRecorder) -> Executor:
    """The Rust order path when the extension is loaded and enabled, else Python; both timed."""
    if native.enabled():
        try:
            return await RustExecutor.create(client, metrics)
        except Exception:  # the extension failed to build its client: the Python twin serves
            pass
    return PythonExecutor(client, metrics)
