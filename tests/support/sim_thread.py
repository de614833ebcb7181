"""The simulator on a thread and event loop of its own.

An order call answered on the caller's thread (`[projectx] answer_within_us`,
rust_ext/src/executor/direct.rs) holds the test's event loop while it waits: a simulator on that same
loop cannot answer until the budget is spent, so such a call is always finished later. On its own
loop the simulator answers at once, as a gateway in another process would."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from trading.config import SimSettings
from trading.sim.gateway import SimGateway


@asynccontextmanager
async def sim_on_a_thread(
    settings: SimSettings, prepare: Callable[[SimGateway], Awaitable[None]]
) -> AsyncIterator[SimGateway]:
    """`prepare` runs on the simulator's loop before the gateway is handed over. Only its synchronous
    parts (faults, the exchange's books, ids) may be used from the test's thread."""
    started: concurrent.futures.Future[tuple[SimGateway, asyncio.AbstractEventLoop, asyncio.Event]] = (
        concurrent.futures.Future()
    )

    async def serve() -> None:
        try:
            async with SimGateway(settings) as gateway:
                await prepare(gateway)
                done = asyncio.Event()
                started.set_result((gateway, asyncio.get_running_loop(), done))
                await done.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="sim-thread", daemon=True)
    thread.start()
    gateway, loop, done = await asyncio.wrap_future(started)
    try:
        yield gateway
    finally:
        loop.call_soon_threadsafe(done.set)
        await asyncio.to_thread(thread.join, 30)
