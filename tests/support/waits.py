"""Waiting on what has no event to wait on (the database, the simulator): poll a check until it holds;
the deadline only turns a hang into a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    async def until() -> None:
        while not await check():  # noqa: ASYNC110 (nothing to wait on but the answer itself)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(until(), within)
