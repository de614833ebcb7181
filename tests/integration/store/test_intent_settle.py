"""The order path's two writes around a send: the intent (one statement, the pooled connection given
back in the background) and its settlement by broker id (once, whoever attaches first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.domain import Order, OrderRequest, OrderStatus, OrderType, Side
from trading.store import DuplicateOrderTag, Store, close_pool
from trading.store.executor import Pool

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def _request(tag: str) -> OrderRequest:
    return OrderRequest(7, "CON.F.US.MNQ.H26", Side.BUY, OrderType.STOP, 1, tag, stop_price=Decimal("21000.25"),
                        reason="range high")  # fmt: skip


async def test_an_intent_and_its_history_row_land_together_and_a_tag_only_once(store: Store, pool: Pool) -> None:
    order = await store.orders.record_intent(_request("s:1"), strategy="overnight_range", at=T0)
    assert order.status is OrderStatus.INTENT and order.id is None
    with pytest.raises(DuplicateOrderTag):
        await store.orders.record_intent(_request("s:1"), at=T0)
    assert [(e.status, e.detail) for e in await store.orders.history(custom_tag="s:1")] == [
        (OrderStatus.INTENT, "range high")
    ]
    assert await store.orders.strategy_of("s:1") == "overnight_range"
    assert await close_pool(pool)  # every connection came back (a release left running would keep close waiting)


async def test_settling_attaches_the_broker_id_once(store: Store) -> None:
    await store.orders.record_intent(_request("s:2"), at=T0)
    assert await store.orders.settle_intent("s:2", 9001, at=T0 + timedelta(seconds=1))
    assert not await store.orders.settle_intent("s:2", 9001)
    assert not await store.orders.settle_intent("never-recorded", 1)
    stored = await store.orders.by_tag("s:2")
    assert stored is not None and (stored.id, stored.status) == (9001, OrderStatus.OPEN)
    assert [(e.status, e.detail) for e in await store.orders.history(custom_tag="s:2")] == [
        (OrderStatus.INTENT, "range high"),
        (OrderStatus.OPEN, "broker id 9001"),
    ]


async def test_the_user_hubs_report_first_leaves_nothing_to_settle(store: Store) -> None:
    await store.orders.record_intent(_request("s:3"), at=T0)
    reported = Order(id=77, account_id=7, contract_id="CON.F.US.MNQ.H26", side=Side.BUY, type=OrderType.STOP, size=1,
                     status=OrderStatus.OPEN, custom_tag="s:3", stop_price=Decimal("21000.25"))  # fmt: skip
    await store.orders.upsert_broker_order(reported, at=T0)
    assert not await store.orders.settle_intent("s:3", 77)
    stored = await store.orders.by_tag("s:3")
    assert stored is not None and stored.id == 77
