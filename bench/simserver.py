"""The simulator in its own process for the order benchmark (server CPU apart from client CPU),
without rate limits. Prints `READY <base_url>` and serves until stdin closes."""

from __future__ import annotations

import asyncio
import sys

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
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve())
