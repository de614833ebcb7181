"""The failover hub hands each batch to the engine in the stream's own task: the engine's handler takes the
batch in the step that delivers it, not one turn of the loop later (a task of its own would wait for that
turn). That a stream's stop never cuts the handling is the streams' part: tests/unit/projectx/test_hub_delivery.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from trading import native
from trading.domain import Quote
from trading.projectx.failover import FailoverMarketStream
from trading.projectx.hub import HubClient
from trading.streaming import BatchHandler, Hub, QuoteEvent, StreamEvent

EVENT = QuoteEvent(Quote("CON.F.US.MNQ.Z26", datetime(2026, 12, 4, 15, tzinfo=UTC), bid=Decimal(21000)))


class _Stream:
    """What the hub needs of a stream that never starts."""

    metrics: Any = None


def _hub(engine: BatchHandler) -> tuple[FailoverMarketStream, BatchHandler]:
    """A failover hub over a stream that never connects, and the delivery it gave that stream."""
    given: list[BatchHandler] = []

    def build(_path: str, deliver: BatchHandler) -> HubClient:
        given.append(deliver)
        return cast(HubClient, _Stream())

    return FailoverMarketStream(native.Component.MARKET_STREAM, Hub.MARKET, build, engine), given[0]


async def test_the_engine_takes_a_batch_in_the_turn_the_stream_delivers_it() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    taken: list[Sequence[StreamEvent]] = []

    async def engine(batch: Sequence[StreamEvent]) -> None:
        taken.append(batch)
        await gate

    _, deliver = _hub(engine)
    delivery = asyncio.ensure_future(deliver([EVENT]))  # the stream's step: scheduled first
    after: asyncio.Future[int] = loop.create_future()
    loop.call_soon(lambda: after.set_result(len(taken)))  # runs right after that step, in the same turn
    assert await after == 1
    gate.set_result(None)
    await delivery
