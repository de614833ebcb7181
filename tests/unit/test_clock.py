"""The simulated clock wakes sleepers exactly when time passes their deadline, however it moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from trading.clock import Clock, LiveClock, SimClock, settle

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


async def test_sim_clock_wakes_sleepers_in_deadline_order_on_advance() -> None:
    clock = SimClock(T0)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(f"{name}@{(clock.now() - T0).total_seconds():g}")

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 20), ("a", 10), ("c", 30))]
    await settle()
    assert clock.sleepers == 3 and woke == []
    await clock.advance_and_settle(9)
    assert woke == []
    await clock.advance_and_settle(1)
    assert woke == ["a@10"]
    await clock.advance_and_settle(timedelta(seconds=25))
    assert woke == ["a@10", "b@35", "c@35"]
    await asyncio.gather(*tasks)


async def test_sim_clock_set_wakes_past_deadlines_and_refuses_going_back() -> None:
    clock = SimClock(T0)
    task = asyncio.create_task(clock.sleep_until(T0 + timedelta(hours=1)))
    await settle()
    clock.set(T0 + timedelta(minutes=59))
    await settle()
    assert not task.done()
    clock.set(T0 + timedelta(hours=2))
    await settle()
    assert task.done()
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(T0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    await clock.sleep_until(T0)  # already past: returns at once


async def test_sim_clock_at_speed_runs_on_by_itself() -> None:
    # 10,000 simulated seconds per real second: a 60 s simulated sleep ends in a few real milliseconds.
    clock = SimClock(T0, speed=10_000)
    await asyncio.wait_for(clock.sleep(60), timeout=30)
    assert clock.now() >= T0 + timedelta(seconds=60)
    clock.set_speed(None)
    frozen = clock.now()
    await asyncio.sleep(0.01)
    assert clock.now() == frozen


def test_clocks_are_utc_aware_and_refuse_naive_times() -> None:
    live: Clock = LiveClock()
    assert live.now().tzinfo is UTC
    assert isinstance(SimClock(T0), Clock)
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2026, 3, 9, 13, 30))
    with pytest.raises(ValueError, match="speed must be positive"):
        SimClock(T0, speed=0)


async def test_live_clock_sleep_until_a_past_time_returns_at_once() -> None:
    clock = LiveClock()
    before = clock.now()
    await clock.sleep_until(before - timedelta(seconds=1))
    await clock.sleep(0)
    assert clock.now() >= before
