"""Client-side sliding-window rate limiter (gateway: 200 requests / 60 s, History 50 / 30 s).

`acquire()` waits until one more request fits in the window. `block_until()` pauses every caller
until a deadline (used after an HTTP 429 with Retry-After). Clock and sleep are injectable so the
limiter can be tested without waiting on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class SlidingWindowLimiter:
    def __init__(
        self,
        max_requests: int,
        window_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        name: str = "",
    ) -> None:
        if max_requests < 1:
            raise ValueError(f"max_requests must be at least 1, got {max_requests}")
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.max_requests = max_requests
        self.window_s = window_s
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited_s = 0.0  # total time callers spent waiting (for metrics)

    def _prune(self, now: float) -> None:
        edge = now - self.window_s
        while self._sent and self._sent[0] <= edge:
            self._sent.popleft()

    def delay(self) -> float:
        """Seconds until one more request may be sent (0 when it may go now)."""
        now = self._clock()
        self._prune(now)
        wait = max(0.0, self._blocked_until - now)
        if len(self._sent) >= self.max_requests:
            wait = max(wait, self._sent[len(self._sent) - self.max_requests] + self.window_s - now)
        return wait

    @property
    def in_window(self) -> int:
        self._prune(self._clock())
        return len(self._sent)

    async def acquire(self) -> float:
        """Wait for a slot and take it; returns how long it waited. Callers are served in order."""
        waited = 0.0
        async with self._lock:
            while True:
                wait = self.delay()
                if wait <= 0:
                    break
                waited += wait
                await self._sleep(wait)
            self._sent.append(self._clock())
        self.waited_s += waited
        return waited

    def block_until(self, deadline: float) -> None:
        """Hold every caller until `deadline` (clock time), e.g. after a 429 with Retry-After."""
        self._blocked_until = max(self._blocked_until, deadline)

    def block_for(self, seconds: float) -> None:
        self.block_until(self._clock() + max(0.0, seconds))
