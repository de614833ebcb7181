"""Waiting on conditions, never on time: poll a check until it holds or a generous deadline passes
(the deadline only turns a hang into a failure that says what was awaited)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Check = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def eventually(check: Check, what: str, within: float = 60.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(every)
