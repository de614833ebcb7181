"""Notifications through the real bot: a backlog after a Discord outage, in order, never twice."""

from __future__ import annotations

from tests.support.discord_world import ALERTS, FILLS, ORDERS, TRADER, World
from tests.support.waits import eventually
from trading.domain import NotificationKind
from trading.store import Store


async def outbox_settled(store: Store) -> bool:
    """Every queued message is marked sent (a post lands before its row is marked)."""
    return await store.outbox.pending_count() == 0


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
    await eventually(lambda: outbox_settled(world.store))
    result = await world.run(TRADER, "stats notifications")
    assert "0 pending" in result.text()
    assert len(world.fake.messages(ORDERS.id)) == 5


async def test_fill_notification_posted_once_across_restart(world: World) -> None:
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await world.posted(FILLS, 1)
    # The next owner (as after a restart) reconciles and meets the same broker trade: no second post.
    await world.desk.engine.reconcile()
    await world.bot.notifier.deliver_once()
    await eventually(lambda: outbox_settled(world.store))
    assert len(world.fake.messages(FILLS.id)) == 1


async def test_a_long_rate_limit_comes_back_to_the_outbox_at_its_retry_after(world: World) -> None:
    world.fake.rate_limit(1, retry_after=45.0)  # longer than the bot lets discord.py sleep inside a send
    queued = await world.store.outbox.enqueue(NotificationKind.ORDER, {"title": "after a long 429"})
    assert queued is not None

    async def rescheduled() -> bool:
        m = await world.store.outbox.get(queued)
        return m is not None and "RateLimited" in (m.last_error or "")

    await eventually(rescheduled)
    assert world.fake.messages(ORDERS.id) == []
