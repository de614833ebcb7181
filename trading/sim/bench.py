"""Round-trip latency of the simulator: place + cancel over real HTTP with a plain httpx client.

    .venv/bin/python -m trading.sim.bench [N] [URL]

Without URL the simulator runs on the same event loop as the client (as in the tests); with a URL
(e.g. a `tradebot sim --port 8900` in another process) only the client runs here. Prints p50/p99/max
of the place, the cancel and the pair, and the request rate.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import httpx

from trading.config import SimSettings
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def measure(base_url: str, username: str, api_key: str, n: int) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post(s.LOGIN_KEY, json={"userName": username, "apiKey": api_key})
        http.headers["Authorization"] = f"Bearer {r.json()['token']}"
        account = (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).json()["accounts"][0]["id"]
        found = (await http.post(s.CONTRACT_SEARCH, json={"searchText": "MNQ", "live": False})).json()
        body = {"accountId": account, "contractId": found["contracts"][0]["id"], "type": 1, "side": 0, "size": 1}
        body["limitPrice"] = 100
        out: dict[str, list[float]] = {"place": [], "cancel": [], "place+cancel": []}
        for i in range(n + n // 10):
            t0 = time.perf_counter()
            placed = (await http.post(s.ORDER_PLACE, json=body)).json()
            t1 = time.perf_counter()
            cancel = {"accountId": account, "orderId": placed["orderId"]}
            cancelled = (await http.post(s.ORDER_CANCEL, json=cancel)).json()
            t2 = time.perf_counter()
            assert placed["success"] and cancelled["success"], (placed, cancelled)
            if i >= n // 10:  # the first tenth warms up and is dropped
                out["place"].append(t1 - t0)
                out["cancel"].append(t2 - t1)
                out["place+cancel"].append(t2 - t0)
        return out


async def in_process(n: int) -> dict[str, list[float]]:
    async with SimGateway(SimSettings(port=0), options=SimOptions(rate_limit_requests=10**9)) as sim:
        return await measure(sim.base_url, sim.username, sim.api_key, n)


def server_stats(base_url: str) -> dict[str, float]:
    stats: dict[str, float] = httpx.get(base_url.rstrip("/") + "/sim/stats").json()
    return stats


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    if len(sys.argv) > 2:
        before = server_stats(sys.argv[2])
        out = asyncio.run(measure(sys.argv[2], "sim-trader", "sim-api-key", n))
        after = server_stats(sys.argv[2])
        served = max(1, after["requests"] - before["requests"])
        cpu = (after["cpu_s"] - before["cpu_s"]) / served
        handler = (after["handler_cpu_s"] - before["handler_cpu_s"]) / served
        print(f"simulator CPU per request: {cpu * 1e6:.0f} µs in all, {handler * 1e6:.0f} µs in the /api handler")
    else:
        out = asyncio.run(in_process(n))
    for name, xs in out.items():
        us = [x * 1e6 for x in xs]
        p50, p99, mean = pct(us, 0.5), pct(us, 0.99), statistics.fmean(us)
        print(f"{name:>13}: p50 {p50:7.0f} µs  p99 {p99:7.0f} µs  max {max(us):7.0f} µs  mean {mean:7.0f} µs")
    print(f"{2 * n / sum(out['place+cancel']):.0f} requests/s (sequential, one connection)")


if __name__ == "__main__":
    main()
