"""Orders from slash commands through the real bot to the simulator, fills back to the fills channel."""

from __future__ import annotations

from tests.e2e.conftest import FILLS, ORDERS, TRADER, World


async def test_place_and_cancel_a_limit_order(world: World) -> None:
    placed = await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20900.25})
    assert not placed.ephemeral, placed.text()
    assert "Order placed: BUY 1 MNQ" in placed.text()
    working = await world.desk.services.open_orders()
    assert len(working) == 1 and working[0].limit_price == 20900.25
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
    assert titles == ["Entry fill: BUY 1 MNQ @ 21000.25"] or titles[0].startswith("Entry fill: BUY 1 MNQ @ ")
