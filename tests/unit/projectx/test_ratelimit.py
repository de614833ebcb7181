"""The sliding-window limiter, driven by a fake clock (sleeping advances it; no wall-clock waits)."""

from __future__ import annotations

import asyncio

import pytest

from trading.projectx.ratelimit import SlidingWindowLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(t: FakeTime, n: int = 3, window: float = 10.0) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(n, window, clock=t.clock, sleep=t.sleep)


async def test_requests_within_the_limit_do_not_wait() -> None:
    t = FakeTime()
    lim = limiter(t)
    for _ in range(3):
        assert await lim.acquire() == 0
    assert t.sleeps == []
    assert lim.in_window == 3


async def test_the_request_over_the_limit_waits_for_the_oldest_to_leave_the_window() -> None:
    t = FakeTime()
    lim = limiter(t)
    await lim.acquire()
    t.now += 4
    await lim.acquire()
    await lim.acquire()
    waited = await lim.acquire()
    assert waited == pytest.approx(6.0)  # first request at 1000, window 10 s, now 1004
    assert t.now == pytest.approx(1010.0)


async def test_window_slides_rather_than_resets() -> None:
    t = FakeTime()
    lim = limiter(t, n=2, window=10.0)
    await lim.acquire()  # 1000
    t.now += 9
    await lim.acquire()  # 1009
    t.now += 1.5  # 1010.5: the first has left, the second has not
    assert lim.delay() == 0
    await lim.acquire()
    assert lim.delay() == pytest.approx(8.5)  # until 1009 + 10


async def test_never_more_than_max_in_any_window() -> None:
    t = FakeTime()
    lim = limiter(t, n=5, window=30.0)
    stamps: list[float] = []
    for _ in range(23):
        await lim.acquire()
        stamps.append(t.now)
    for i, s in enumerate(stamps):
        inside = [x for x in stamps[i:] if x < s + 30.0]
        assert len(inside) <= 5


async def test_block_for_holds_callers_after_a_429() -> None:
    t = FakeTime()
    lim = limiter(t, n=100)
    lim.block_for(7.0)
    assert await lim.acquire() == pytest.approx(7.0)
    assert await lim.acquire() == 0


async def test_concurrent_callers_are_all_served_and_respect_the_limit() -> None:
    t = FakeTime()
    lim = limiter(t, n=2, window=5.0)
    order: list[int] = []

    async def call(i: int) -> None:
        await lim.acquire()
        order.append(i)

    await asyncio.gather(*(call(i) for i in range(6)))
    assert sorted(order) == list(range(6))
    assert t.now == pytest.approx(1010.0)  # 6 requests, 2 per 5 s


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 1.0)
    with pytest.raises(ValueError):
        SlidingWindowLimiter(1, 0.0)
