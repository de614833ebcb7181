"""Order round trip (place a resting limit + cancel it, sequential) against the simulator running
in its own process: Rust executor (through `trading.execution`, and the bare native call) vs the
httpx path (`PythonExecutor` over `ProjectXClient`) vs a raw-socket floor (hand-written HTTP/1.1
keep-alive over asyncio streams, no JSON model, no retry policy)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from bench.stats import Summary, summarize, table
from trading import native
from trading.config import ProjectXSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.execution import PythonExecutor, RustExecutor
from trading.projectx import schema as s
from trading.projectx.rest import ProjectXClient


class RawHttp:
    """Minimal HTTP/1.1 keep-alive client: the floor any client pays on this server."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        assert self.reader is not None and self.writer is not None
        data = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        self.writer.write(head + data)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in raw.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        out: dict[str, object] = json.loads(await self.reader.readexactly(length))
        return out

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _loop(n: int, once: Callable[[int], Awaitable[None]]) -> list[float]:
    for i in range(min(50, n)):  # warm-up: connections, caches
        await once(-i - 1)
    out: list[float] = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        await once(i)
        out.append(float(time.perf_counter_ns() - t0))
    return out


def run(quick: bool = False) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.simserver"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        return asyncio.run(_run(300 if quick else 2000, ready[1], int(ready[2]), ready[3]))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)


async def _run(n: int, base_url: str, account_id: int, cid: str) -> str:
    settings = ProjectXSettings(
        base_url=base_url, username="sim-trader", api_key="sim-api-key", rate_limit_requests=10**9
    )
    rows: list[Summary] = []
    async with ProjectXClient(settings) as px:
        token = await px.login()
        tag = uuid.uuid4().hex[:8]

        def request(i: int) -> OrderRequest:
            return OrderRequest(
                account_id, cid, Side.BUY, OrderType.LIMIT, 1, f"b-{tag}-{i}", limit_price=Decimal("20000")
            )

        if native.enabled():
            rust = await RustExecutor.create(px)

            async def rust_once(i: int) -> None:
                oid = (await rust.place(request(i))).value
                await rust.cancel(account_id, oid)

            rows.append(summarize("rust (execution.py)", await _loop(n, rust_once)))
            rs = rust._rs

            async def bare_once(i: int) -> None:
                r = await rs.place(account_id, cid, 1, 0, 1, f"n-{tag}-{i}", limit_price=20000.0)
                await rs.cancel(account_id, r.order_id)

            rows.append(summarize("rust (bare native call)", await _loop(n, bare_once)))
        py = PythonExecutor(px)

        async def py_once(i: int) -> None:
            oid = (await py.place(request(i + 10**6))).value
            await py.cancel(account_id, oid)

        rows.append(summarize("httpx (execution.py)", await _loop(n, py_once)))
        host, port = base_url.removeprefix("http://").split(":")
        raw = RawHttp(host, int(port), token)
        await raw.connect()

        async def raw_once(i: int) -> None:
            r = await raw.post(
                s.ORDER_PLACE,
                {"accountId": account_id, "contractId": cid, "type": 1, "side": 0, "size": 1,
                 "limitPrice": 20000, "customTag": f"r-{tag}-{i}"},
            )  # fmt: skip
            await raw.post(s.ORDER_CANCEL, {"accountId": account_id, "orderId": r["orderId"]})

        rows.append(summarize("raw socket floor", await _loop(n, raw_once)))
        await raw.close()
    base = "rust (execution.py)" if native.enabled() else "httpx (execution.py)"
    return table(f"order round trip: place + cancel, {n:,} sequential, sim in its own process", rows, base)
