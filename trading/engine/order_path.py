"""The engine's order path: `trading.execution`'s `Executor` (the Rust `OrderExecutor` or the Python
client, timed into the latency metrics, with the Rust path falling back to Python on a non-broker
failure), seen through the calls the engine makes. This is the one place an executor is built: every
order of the account (strategy, slash command, CLI, job) goes through the engine and so through here."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Protocol

from trading import native
from trading.domain import OrderRequest
from trading.execution import Executor, LatencyRecorder, PythonExecutor, RustExecutor
from trading.projectx.rest import ProjectXClient

log = logging.getLogger(__name__)


class OrderPath(Protocol):
    @property
    def path(self) -> str: ...

    async def place(self, request: OrderRequest) -> int: ...

    async def cancel(self, account_id: int, order_id: int) -> None: ...

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None: ...

    async def close(self, account_id: int, contract_id: str) -> None: ...


class ExecutorPath:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    @property
    def path(self) -> str:
        return self.executor.path

    async def place(self, request: OrderRequest) -> int:
        return (await self.executor.place(request)).value

    async def cancel(self, account_id: int, order_id: int) -> None:
        await self.executor.cancel(account_id, order_id)

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        await self.executor.modify(account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price)

    async def close(self, account_id: int, contract_id: str) -> None:
        await self.executor.close(account_id, contract_id)


def python_path(client: ProjectXClient, metrics: LatencyRecorder | None = None) -> ExecutorPath:
    return ExecutorPath(PythonExecutor(client, metrics))


async def rust_path(client: ProjectXClient, metrics: LatencyRecorder | None = None) -> ExecutorPath | None:
    """The Rust path, or None when the extension is not loaded, disabled, or cannot build its client."""
    if not native.enabled():
        return None
    try:
        return ExecutorPath(await RustExecutor.create(client, metrics))
    except Exception:
        log.exception("cannot build the Rust executor; using the Python path")
        return None


async def order_path(
    client: ProjectXClient, metrics: LatencyRecorder | None = None, *, prefer_rust: bool = True
) -> ExecutorPath:
    """The Rust path when the extension is loaded and enabled (and asked for), else Python."""
    rust = await rust_path(client, metrics) if prefer_rust else None
    return rust or python_path(client, metrics)
