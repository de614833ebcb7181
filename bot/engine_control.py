"""The order path the bot gives its services: Rust when available, Python otherwise (the strategy
commands' view of the engine is `trading.engine_control.EngineControl`)."""

from __future__ import annotations

from trading import native
from trading.execution import Executor, LatencyRecorder, PythonExecutor, RustExecutor
from trading.projectx.rest import ProjectXClient


async def make_executor(client: ProjectXClient, metrics: LatencyRecorder) -> Executor:
    """The Rust order path when the extension is loaded and enabled, else Python; both timed."""
    if native.enabled():
        try:
            return await RustExecutor.create(client, metrics)
        except Exception:  # the extension failed to build its client: the Python twin serves
            pass
    return PythonExecutor(client, metrics)
