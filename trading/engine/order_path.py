"""The engine's order path: `trading.execution`'s `Executor` (the Rust `OrderExecutor` or the Python
client, timed into the latency metrics, with the Rust path falling back to Python on a non-broker
failure), seen through the calls the engine makes. This is the one place an executor is built: every
order of the account (strategy, slash command, CLI, job) goes through the engine and so through here.

With the extension loaded, both paths are built and `RoutedExecutor` asks `trading.native` per call
which one serves it: the executor's route (rust/python, changeable at run time), its Rust share (a
place by its customTag's hash; a modify or cancel by the order id's, a close by the contract's) and
its circuit breaker (tripped: everything on Python)."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from trading import domain, native
from trading.domain import OrderRequest
from trading.execution import Executor, LatencyRecorder, Path, PythonExecutor, RustExecutor, Timed
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

    @property
    def fallbacks(self) -> int:
        """Rust calls served by Python after a binding error or a panic (0 on the Python path)."""
        return int(getattr(self.executor, "fallbacks", 0))

    @property
    def answer_counts(self) -> dict[str, int] | None:
        """The Rust path's order calls by how they were answered; None without a Rust path."""
        counts: dict[str, int] | None = getattr(self.executor, "answer_counts", None)
        return counts

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


class RoutedExecutor:
    """An `Executor` over both paths: each call goes where `trading.native` routes it now."""

    def __init__(self, rust: RustExecutor, python: PythonExecutor) -> None:
        self.rust = rust
        self.python = python

    @property
    def path(self) -> Path:
        """rust when any share of the orders goes the Rust way now, else python."""
        if native.route(native.Component.EXECUTOR) == "rust" and native.rust_share() > 0:
            return "rust"
        return "python"

    @property
    def fallbacks(self) -> int:
        """Calls the Rust path handed to Python (a binding error or a panic)."""
        return self.rust.fallbacks

    @property
    def answer_counts(self) -> dict[str, int]:
        """The Rust path's order calls by how they were answered (RustExecutor.answer_counts)."""
        return self.rust.answer_counts

    def _by(self, key: str) -> Executor:
        return self.rust if native.executor_uses_rust(key) else self.python

    def place(self, req: domain.OrderRequest) -> Coroutine[Any, Any, Timed[int]]:
        """The serving path's own coroutine (awaited by the caller as this method's would be): one
        coroutine per order instead of two."""
        return self._by(req.custom_tag).place(req)

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> Timed[None]:
        return await self._by(str(order_id)).modify(
            account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price, trail_price=trail_price
        )

    async def cancel(self, account_id: int, order_id: int) -> Timed[None]:
        return await self._by(str(order_id)).cancel(account_id, order_id)

    async def close(self, account_id: int, contract_id: str) -> Timed[None]:
        return await self._by(contract_id).close(account_id, contract_id)

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> Timed[None]:
        return await self._by(contract_id).partial_close(account_id, contract_id, size)

    async def find_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None
    ) -> Timed[domain.Order | None]:
        return await self._by(custom_tag).find_by_tag(account_id, custom_tag, since)


def python_path(client: ProjectXClient, metrics: LatencyRecorder | None = None) -> ExecutorPath:
    return ExecutorPath(PythonExecutor(client, metrics))


async def rust_path(client: ProjectXClient, metrics: LatencyRecorder | None = None) -> ExecutorPath | None:
    """Both paths routed per call (`RoutedExecutor`), or None when the extension is not loaded, disabled,
    or cannot build its client."""
    if not native.enabled():
        return None
    try:
        rust = await RustExecutor.create(client, metrics)
        return ExecutorPath(RoutedExecutor(rust, rust.fallback))
    except Exception:
        log.exception("cannot build the Rust executor; using the Python path")
        return None


async def order_path(
    client: ProjectXClient, metrics: LatencyRecorder | None = None, *, prefer_rust: bool = True
) -> ExecutorPath:
    """The Rust path when the extension is loaded and enabled (and asked for), else Python."""
    rust = await rust_path(client, metrics) if prefer_rust else None
    return rust or python_path(client, metrics)
