"""The copy loop ends when cancelled, even when a leader event lands in the same turn of the loop as the
cancel. (On Python 3.11 `asyncio.wait_for(queue.get(), t)` cancelled just as its get completes returns
the item and swallows the cancellation: the loop ran on and the stop awaiting it never returned.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from trading.domain import Order, OrderStatus, OrderType, Side
from trading.engine import Engine
from trading.engine.copy import Copier, running


@dataclass
class _Leader:
    """What the copy loop reads of its leader before any event (a started engine has more)."""

    watchers: list[Any] = field(default_factory=list)
    positions: dict[str, Any] = field(default_factory=dict)
    account_name: str = "LEADER"
    account_id: int = 1


def _stop_order() -> Order:
    return Order(1, 1, "CON.F.US.MNQ.H26", Side.SELL, OrderType.STOP, 1, OrderStatus.OPEN)


async def _blocked_in_get(copier: Copier) -> None:
    for _ in range(100):  # the loop's first turns: it registers and waits on its queue
        await asyncio.sleep(0)
    assert copier.idle and copier in cast(_Leader, copier.leader).watchers


async def test_a_cancel_in_the_same_turn_as_an_event_ends_the_loop() -> None:
    for _ in range(20):  # the race is per turn: repeat it
        copier = Copier(cast(Engine, _Leader()), [])
        task = asyncio.create_task(copier.run())
        await _blocked_in_get(copier)
        copier.order(_stop_order(), None)  # the event completes the loop's queue.get() ...
        task.cancel()  # ... and the cancel comes before the loop runs again
        await asyncio.wait({task}, timeout=30)  # a liveness bound, not a timing
        assert task.cancelled(), "the copy loop swallowed its cancel"
        assert copier not in cast(_Leader, copier.leader).watchers


async def test_running_ends_its_loops_at_the_blocks_end() -> None:
    copier = Copier(cast(Engine, _Leader()), [])
    async with running([copier]):
        await _blocked_in_get(copier)
    assert copier not in cast(_Leader, copier.leader).watchers  # ended within the stop's bound
