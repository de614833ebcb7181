"""Orders from slash commands through the real bot to the simulator, fills back to the fills channel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.discord_world import ADMIN, FILLS, GENERAL, GUILD, ORDERS, READER, TRADER, World
from trading.domain import OrderType


async def test_place_and_cancel_a_limit_order(world: World) -> None:
    placed = await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20900.25})
    assert not placed.ephemeral, placed.text()
    assert "Order placed: BUY 1 MNQ" in placed.text()
    working = await world.desk.services.open_orders()
    assert len(working) == 1 and working[0].limit_price == Decimal("20900.25")
    order_id = working[0].id
    cancelled = await world.run(TRADER, "order cancel", {"order_id": order_id})
    assert f"Order #{order_id} cancelled" in cancelled.text()
    assert await world.desk.services.open_orders() == []
    titles = await world.posted(ORDERS, 1)
    assert titles[0].startswith("Order placed: BUY 1 MNQ limit")


async def test_market_order_fill_is_posted_to_fills_once(world: World) -> None:
    result = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    assert "Order placed" in result.text()
    titles = await world.posted(FILLS, 1)
    assert titles[0].startswith("Entry fill: BUY 1 MNQ @ ")
    closed = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "sell", "quantity": 1})
    assert "Order placed" in closed.text()
    titles = await world.posted(FILLS, 2)
    assert titles[1].startswith("Exit fill: SELL 1 MNQ @ ")
    await world.desk.engine.reconcile()  # the broker's trades read again: nothing new to post
    await world.bot.notifier.deliver_once()
    assert len(world.fake.messages(FILLS.id)) == 2


async def test_stop_bracket_trail_and_modify(world: World) -> None:
    stop = await world.run(TRADER, "order stop", {"symbol": "MNQ", "side": "buy", "quantity": 1, "stop_price": 21050.0})
    assert "Order placed: BUY 1 MNQ" in stop.text(), stop.text()
    bracket = await world.run(
        TRADER,
        "order bracket",
        {
            "symbol": "MES",
            "side": "buy",
            "quantity": 1,
            "entry": "limit",
            "price": 5790.0,
            "stop_loss_ticks": 8,
            "take_profit_ticks": 16,
        },
    )
    assert "Stop-loss (ticks)" in bracket.text() and "16" in bracket.text(), bracket.text()
    trail = await world.run(TRADER, "order trail", {"symbol": "MNQ", "side": "sell", "quantity": 1, "trail_ticks": 20})
    assert "Order placed: SELL 1 MNQ" in trail.text(), trail.text()
    working = {o.type: o for o in await world.desk.services.open_orders()}
    assert OrderType.STOP in working and OrderType.LIMIT in working and OrderType.TRAILING_STOP in working
    stop_id = working[OrderType.STOP].id
    moved = await world.run(TRADER, "order modify", {"order_id": stop_id, "stop": 21060.0})
    assert f"Order #{stop_id} modified" in moved.text()
    again = {o.id: o for o in await world.desk.services.open_orders()}
    assert again[stop_id].stop_price == Decimal("21060")


BAD = [
    ("order market", {"symbol": "NOPE", "side": "buy", "quantity": 1}, "Unknown symbol"),
    ("order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20900.1}, "tick grid"),
    ("order stop", {"symbol": "MNQ", "side": "buy", "quantity": 1, "stop_price": 20950.0}, "above the market"),
    ("order stop", {"symbol": "MNQ", "side": "sell", "quantity": 1, "stop_price": 21050.0}, "below the market"),
    ("order bracket", {"symbol": "MNQ", "side": "buy", "quantity": 1, "entry": "market"}, "needs a stop-loss"),
    ("order cancel", {"order_id": 424242}, "No working order #424242"),
    ("order modify", {"order_id": 424242, "price": 21000.0}, "No working order #424242"),
    ("order modify", {"order_id": 5}, "Say what to change"),
]


@pytest.mark.parametrize(("command", "options", "message"), BAD)
async def test_bad_input_is_a_private_message_and_reaches_no_broker(
    world: World, command: str, options: dict[str, Any], message: str
) -> None:
    result = await world.run(TRADER, command, options)
    assert result.ephemeral
    assert message in result.text()
    assert await world.desk.broker_orders() == 0


async def test_large_order_needs_the_invokers_confirmation_once(world: World) -> None:
    asked = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 3})
    assert "Confirm: buy 3 MNQ market?" in asked.text()
    assert await world.desk.broker_orders() == 0
    other = await world.click(ADMIN, asked, "Confirm")
    assert other.ephemeral and "Only the person who asked" in other.text()
    button = asked.button("Confirm")["custom_id"]
    # A double-click: both clicks are in flight before either is answered.
    clicks = [await world.fake.click(TRADER, GUILD, GENERAL, asked.message_id, button, wait=False) for _ in range(2)]
    for c in clicks:
        await world.fake.settle(c)
    texts = sorted(c.text() for c in clicks)
    assert "already confirmed" in texts[1], texts
    confirmed = next(c for c in clicks if "already" not in c.text())
    await confirmed.wait(2)
    assert "Order placed: BUY 3 MNQ" in confirmed.text()
    assert await world.desk.broker_orders() == 1


async def test_a_replayed_interaction_never_orders_twice(world: World) -> None:
    first = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    assert "Order placed" in first.text()
    replay = await world.fake.invoke(
        TRADER,
        GUILD,
        GENERAL,
        "order market",
        {"symbol": "MNQ", "side": "buy", "quantity": 1},
        interaction_id=first.id,
    )
    assert replay.rejected
    assert await world.desk.broker_orders() == 1


async def test_same_tag_through_services_is_a_duplicate(world: World) -> None:
    """The customTag is the interaction id: the service refuses to place it again even without Discord's help."""
    first = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    from trading.domain import Side
    from trading.services import OrderSpec

    again = await world.desk.services.place_order(OrderSpec("MNQ", Side.BUY, OrderType.MARKET, 1), f"tb-{first.id}")
    assert again.duplicate
    assert await world.desk.broker_orders() == 1


async def test_cancel_all_with_confirmation(world: World) -> None:
    for price in (20800.0, 20810.0):
        await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": price})
    asked = await world.run(TRADER, "order cancel-all")
    done = await world.click(TRADER, asked, "Confirm")
    await done.wait(2)
    assert "Cancelled 2 order(s)" in done.text()
    assert await world.desk.services.open_orders() == []


async def test_reader_cannot_order(world: World) -> None:
    result = await world.run(READER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    assert result.ephemeral and "trade permission" in result.text()
    assert await world.desk.broker_orders() == 0
