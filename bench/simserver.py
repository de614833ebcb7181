"""The simulator in its own process for the order benchmarks (server CPU apart from client CPU),
without rate limits. Prints `READY <base_url> <account_id> <contract_id>` and serves until stdin
closes; `running()` starts it from a benchmark and stops it on leaving.

A line on stdin drives its market: `quote <contract_id> <bid> <ask>` publishes a quote, `trade
<contract_id> <price>` a print. A benchmark measuring the engine in its own process drives prices this
way, not over HTTP from that process: an HTTP client there (httpx makes reference cycles per request)
would leave its garbage to the engine's collector and its pauses in the engine's figures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from trading.config import SimSettings
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions


async def serve() -> None:
    options = SimOptions(rate_limit_requests=10**9, market_pending_status=False)
    async with SimGateway(SimSettings(port=0), options=options) as sim:
        cid = sim.contract("MNQ")
        await sim.market.quote(cid, "21000", "21000.25")
        await sim.market.trade(cid, "21000.25", 1)
        print(f"READY {sim.base_url} {sim.account_id} {cid}", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            await drive(sim, line.split())


async def drive(sim: SimGateway, words: list[str]) -> None:
    """One stdin command (see the module notes); anything else is said on stderr and ignored."""
    match words:
        case ["quote", cid, bid, ask]:
            await sim.market.quote(cid, bid, ask)
        case ["trade", cid, price]:
            await sim.market.trade(cid, price, 1)
        case _:
            print(f"simserver: not a command: {' '.join(words)!r}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Running:
    base_url: str
    account_id: int
    contract_id: str  # MNQ, quoted 21000 / 21000.25


@contextmanager
def running() -> Iterator[Running]:
    """The simulator in a child process for the time of the block."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.simserver"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"the simulator did not start (said {ready!r})")
        yield Running(ready[1], int(ready[2]), ready[3])
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(serve())
