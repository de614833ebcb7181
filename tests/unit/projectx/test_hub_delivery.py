"""A hub never cuts the handling of a batch when it ends the task that delivers it (its stop: the consumer
after the pending events, the Rust reader after its time-out): a task in the middle of a batch ends right
after the handler is done with it; one between batches is cancelled at once. The handler runs in the
delivering task itself (no task of its own per batch)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from trading.domain import Quote
from trading.projectx.realtime import MarketHub
from trading.streaming import QuoteEvent, StreamEvent

EVENT = QuoteEvent(Quote("CON.F.US.MNQ.Z26", datetime(2026, 12, 4, 15, tzinfo=UTC), bid=Decimal(21000)))


class Engine:
    """A handler that takes a batch and finishes it when told to."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.took: asyncio.Future[asyncio.Task[object] | None] = loop.create_future()
        self.go_on: asyncio.Future[None] = loop.create_future()
        self.finished: list[Sequence[StreamEvent]] = []

    async def __call__(self, batch: Sequence[StreamEvent]) -> None:
        self.took.set_result(asyncio.current_task())
        await self.go_on
        self.finished.append(batch)


async def test_a_consumer_stopped_mid_batch_ends_after_the_batch_is_handled() -> None:
    engine = Engine()
    hub = MarketHub("ws://unused", engine, lambda: "token")
    consumer = asyncio.create_task(hub._consume())
    hub._push([EVENT])
    assert await engine.took is consumer  # the handler runs in the consumer's own task
    await hub._drain_then_cancel(consumer)  # the stop's last step: returns without cutting the batch
    assert not consumer.done()
    engine.go_on.set_result(None)
    await asyncio.gather(consumer, return_exceptions=True)
    assert engine.finished == [[EVENT]]
    assert consumer.cancelled()  # and then it ended, as asked


async def test_a_consumer_between_batches_is_cancelled_at_once() -> None:
    engine = Engine()
    hub = MarketHub("ws://unused", engine, lambda: "token")
    consumer = asyncio.create_task(hub._consume())
    await hub._drain_then_cancel(consumer)
    assert consumer.cancelled()
    assert not engine.took.done()
