"""Notifications through the real bot: a backlog after a Discord outage, in order, never twice."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import ALERTS, FILLS, ORDERS, TRADER, World
from trading.domain import NotificationKind
from trading.store import Store


async def outbox_settled(store: Store, within: float = 20.0) -> None:
    """Wait until every queued message is marked sent (a post lands before its row is marked)."""

    async def until() -> None:
        while await store.outbox.pending_count():  # noqa: ASYNC110 (the database has no event to wait on)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(until(), within)


async def test_backlog_after_outage_is_delivered_in_order_once(world: World) -> None:
    world.fake.set_down(True)
    for i in range(5):
        await world.store.outbox.enqueue(NotificationKind.ORDER, {"title": f"queued {i}"})
    await world.store.outbox.enqueue(NotificationKind.ALERT, {"title": "feed stale", "text": "no ticks"})
    # While Discord is down the bot keeps trying (and failing): nothing is lost meanwhile.
    post = ("POST", f"/channels/{ORDERS.id}/messages")
    await world.fake.wait_until(lambda: post in world.fake.requests)
    assert world.fake.messages(ORDERS.id) == []
    world.fake.lose_answers(1)  # the first post after the outage lands, but its answer is lost
    world.fake.set_down(False)
    titles = await world.posted(ORDERS, 5)
    assert titles == [f"queued {i}" for i in range(5)]
    assert await world.posted(ALERTS, 1) == ["feed stale"]
    await world.fake.wait_connected()
    await outbox_settled(world.store)
    result = await world.run(TRADER, "stats notifications")
    assert "0 pending" in result.text()
    assert len(world.fake.messages(ORDERS.id)) == 5


async def test_fill_notification_posted_once_across_restart(world: World) -> None:
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await world.posted(FILLS, 1)
    # The next owner (as after a restart) reconciles and meets the same broker trade: no second post.
    await world.desk.engine.reconcile()
    await world.bot.notifier.deliver_once()
    await outbox_settled(world.store)
    assert len(world.fake.messages(FILLS.id)) == 1
