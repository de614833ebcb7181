"""The project-x-py side of `bench sdk`, run by the SDK's own venv (Python ≥ 3.12), never by ours:
it imports the standard library and project_x_py only.

    <sdk venv>/bin/python bench/sdk_client.py BASE_URL ACCOUNT_ID CONTRACT_ID

Logs in to the simulator with its credentials, then answers on stdout, one JSON line each:
first `{"ready": ..., "version": ..., "settings": ...}`, then for every `RUN n start [http]` line read
from stdin the n place + cancel round trips' times in ns (`{"ns": [...]}`); EOF or `QUIT` ends it.
`http` takes the SDK's HTTP layer alone (`client._make_request`, what OrderManager calls) instead of
OrderManager: what the SDK's order bookkeeping costs on top. The
SDK's loggers write INFO to stdout, so the replies go to a duplicate of the original stdout and
sys.stdout is pointed at stderr.

Its best case: the client-side rate limiter swapped for one that never waits (the SDK has no off
switch: `requests_per_minute` only raises the ceiling of a sliding window that filters and sorts
the last minute's timestamps on every request), logging disabled below ERROR, the OrderManager in
polling mode (no realtime hubs), no risk manager."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import uuid
from importlib.metadata import version
from typing import Any, TextIO

USERNAME, API_KEY = "sim-trader", "sim-api-key"  # the simulator's credentials (trading/sim/auth.py)
LIMIT, LIMIT_ORDER, BUY = 20000.0, 1, 0


class NoWait:
    """The SDK's RateLimiter interface (`await acquire()`) without a limit: the limiter off."""

    async def acquire(self) -> None:
        return None


def _reply(out: TextIO, msg: dict[str, Any]) -> None:
    out.write(json.dumps(msg) + "\n")
    out.flush()


async def serve(base_url: str, account_id: int, contract_id: str, out: TextIO) -> None:
    from project_x_py import EventBus, OrderManager, ProjectX
    from project_x_py.models import ProjectXConfig

    config = ProjectXConfig(
        api_url=f"{base_url}/api",
        user_hub_url=f"{base_url}/hubs/user",
        market_hub_url=f"{base_url}/hubs/market",
        requests_per_minute=10**9,
    )
    tag = uuid.uuid4().hex[:8]
    seen: dict[str, int] = {}

    async def record(response: Any) -> None:
        seen[f"{response.request.method} {response.request.url.path}"] = response.status_code

    async with ProjectX(username=USERNAME, api_key=API_KEY, config=config) as client:
        client.rate_limiter = NoWait()
        client._client.event_hooks = {"response": [record]}  # which endpoints it needs; off before timing
        await client.authenticate()
        if client.account_info is None or client.account_info.id != account_id:
            raise SystemExit(f"the SDK chose account {client.account_info}, not the simulator's {account_id}")
        orders = OrderManager(client, EventBus())
        await orders.initialize()  # no realtime client: polling mode

        async def once(i: int) -> None:
            placed = await orders.place_order(
                contract_id, LIMIT_ORDER, BUY, 1, limit_price=LIMIT, custom_tag=f"x-{tag}-{i}"
            )
            if not await orders.cancel_order(placed.orderId):
                raise SystemExit(f"the SDK could not cancel order {placed.orderId}")

        async def http_once(i: int) -> None:
            body = {"accountId": account_id, "contractId": contract_id, "type": LIMIT_ORDER, "side": BUY,
                    "size": 1, "limitPrice": LIMIT, "customTag": f"h-{tag}-{i}"}  # fmt: skip
            placed = await client._make_request("POST", "/Order/place", data=body)
            await client._make_request("POST", "/Order/cancel", data={"accountId": account_id,
                                                                      "orderId": placed["orderId"]})  # fmt: skip

        await once(-1)
        client._client.event_hooks = {}
        settings = {
            "rate limiter": "off (a no-op in place of RateLimiter; requests_per_minute 1e9)",
            "logging": "disabled below ERROR",
            "order manager": "polling mode (no realtime client), no risk manager",
            "http": "the SDK's own httpx.AsyncClient (http2=True, keep-alive)",
        }
        _reply(out, {"ready": True, "version": version("project-x-py"), "settings": settings,
                     "python": sys.version.split()[0], "endpoints": seen})  # fmt: skip
        loop = asyncio.get_running_loop()
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).split():
            if line[0] != "RUN":
                break
            n, start, how = int(line[1]), int(line[2]), once if line[3:] != ["http"] else http_once
            ns: list[int] = []
            for i in range(start, start + n):
                t0 = time.perf_counter_ns()
                await how(i)
                ns.append(time.perf_counter_ns() - t0)
            _reply(out, {"ns": ns})


def main() -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # the SDK's log handlers and any print go to stderr
    os.dup2(sys.stderr.fileno(), 1)
    logging.disable(logging.WARNING)
    asyncio.run(serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], out))


if __name__ == "__main__":
    main()
