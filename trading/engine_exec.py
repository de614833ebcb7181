"""The engine's order path: place, cancel and modify through the Rust `OrderExecutor` or the Python
client, behind one small interface, each call timed into `LatencyMetrics` under its path.

This is the engine's adapter until `trading/execution.py` lands; it uses only the public surfaces
of `trading._native.OrderExecutor` and `ProjectXClient`. Both paths are idempotent by customTag
(they reconcile an unknown outcome by looking the tag up before re-sending).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol

from trading import native
from trading.domain import OrderRequest
from trading.metrics import LatencyMetrics
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.errors import OrderRejected, ProjectXError, UncertainOutcome
from trading.projectx.rest import ProjectXClient


class OrderPath(Protocol):
    path: str  # "rust" | "python"

    async def place(self, request: OrderRequest) -> int: ...

    async def cancel(self, account_id: int, order_id: int) -> None: ...

    async def modify_stop(self, account_id: int, order_id: int, stop_price: Decimal) -> None: ...


class PythonPath:
    """`ProjectXClient` (httpx)."""

    path = "python"

    def __init__(self, client: ProjectXClient, metrics: LatencyMetrics | None = None) -> None:
        self.client = client
        self.metrics = metrics

    async def place(self, request: OrderRequest) -> int:
        if self.metrics is None:
            return await self.client.place_order(request)
        with self.metrics.timer("place", self.path):
            return await self.client.place_order(request)

    async def cancel(self, account_id: int, order_id: int) -> None:
        if self.metrics is None:
            await self.client.cancel_order(account_id, order_id)
            return
        with self.metrics.timer("cancel", self.path):
            await self.client.cancel_order(account_id, order_id)

    async def modify_stop(self, account_id: int, order_id: int, stop_price: Decimal) -> None:
        if self.metrics is None:
            await self.client.modify_order(account_id, order_id, stop_price=stop_price)
            return
        with self.metrics.timer("modify", self.path):
            await self.client.modify_order(account_id, order_id, stop_price=stop_price)


class RustPath:
    """`trading._native.OrderExecutor` (reqwest on tokio); the token follows the Python client's."""

    path = "rust"

    def __init__(self, client: ProjectXClient, metrics: LatencyMetrics | None = None) -> None:
        mod = native.module()
        if mod is None or not hasattr(mod, "OrderExecutor"):
            raise RuntimeError(f"the Rust order executor is not available: {native.describe()}")
        self.client = client
        self.metrics = metrics
        self._exec: Any = mod.OrderExecutor(
            client.base_url, client.token or "", self._refresh, list(client.retry_delays)
        )
        client.on_token(self._exec.set_token)

    async def _refresh(self) -> str:
        return await self.client.refresh_token()

    def _record(self, operation: str, result: Any) -> None:
        if self.metrics is not None:
            self.metrics.record(operation, self.path, int(result.elapsed_ns), ok=result.outcome == "ok")

    @staticmethod
    def _raise(operation: str, result: Any, tag: str | None = None) -> None:
        if result.outcome == "ok":
            return
        if result.outcome == "rejected":
            raise OrderRejected(operation, int(result.error_code or 0), result.message, result.order_id)
        if result.outcome == "uncertain":
            raise UncertainOutcome(operation, result.message or "unknown outcome", tag, result.order_id)
        raise ProjectXError(f"{operation}: {result.outcome} {result.message or ''}".strip())

    async def place(self, request: OrderRequest) -> int:
        b = request.bracket
        result = await self._exec.place(
            request.account_id,
            request.contract_id,
            int(convert.TYPE_TO_WIRE[request.type]),
            int(convert.SIDE_TO_WIRE[request.side]),
            request.size,
            request.custom_tag,
            _f(request.limit_price),
            _f(request.stop_price),
            _f(request.trail_price),
            None if b is None or b.stop_loss_ticks is None else abs(b.stop_loss_ticks),
            None if b is None or b.take_profit_ticks is None else abs(b.take_profit_ticks),
        )
        self._record("place", result)
        self._raise(s.ORDER_PLACE, result, request.custom_tag)
        if result.order_id is None:
            body = json.loads(result.order_json) if result.order_json else {}
            return int(body["id"])
        return int(result.order_id)

    async def cancel(self, account_id: int, order_id: int) -> None:
        result = await self._exec.cancel(account_id, order_id)
        self._record("cancel", result)
        self._raise(s.ORDER_CANCEL, result)

    async def modify_stop(self, account_id: int, order_id: int, stop_price: Decimal) -> None:
        result = await self._exec.modify(account_id, order_id, None, None, float(stop_price), None)
        self._record("modify", result)
        self._raise(s.ORDER_MODIFY, result)


def _f(d: Decimal | None) -> float | None:
    return None if d is None else float(d)


def order_path(client: ProjectXClient, metrics: LatencyMetrics | None = None, *, prefer_rust: bool = True) -> OrderPath:
    """The Rust path when the extension is loaded and enabled (and asked for), else Python."""
    if prefer_rust and native.enabled():
        try:
            return RustPath(client, metrics)
        except RuntimeError:
            pass
    return PythonPath(client, metrics)
