"""Positions, flatten with confirmation, and who may do it (audited)."""

from __future__ import annotations

from tests.support.discord_world import ADMIN, READER, ROLE_TRADER, TRADER, World


async def open_long(world: World, qty: int = 1) -> None:
    result = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": qty})
    assert "Order placed" in result.text(), result.text()


async def test_position_list_is_private(world: World) -> None:
    await open_long(world)
    listed = await world.run(READER, "position list")
    assert listed.ephemeral and "MNQ long 1 @ " in listed.text(), listed.text()


async def test_flatten_confirmed(world: World) -> None:
    await open_long(world)
    await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20500.0})
    asked = await world.run(TRADER, "position flatten")
    assert "Confirm: flatten" in asked.text() and not asked.ephemeral
    assert len(await world.desk.services.positions()) == 1
    done = await world.click(TRADER, asked, "Confirm")
    await done.wait(2)
    assert "Flattened" in done.text() and "Orders cancelled" in done.text()
    assert await world.desk.services.positions() == []
    assert await world.desk.services.open_orders() == []


async def test_flatten_cancelled_does_nothing(world: World) -> None:
    await open_long(world)
    asked = await world.run(TRADER, "position flatten")
    cancelled = await world.click(TRADER, asked, "Cancel")
    assert "Cancelled: flatten" in cancelled.text()
    late = await world.click(TRADER, asked, "Confirm")
    assert "already cancelled" in late.text()
    assert len(await world.desk.services.positions()) == 1


async def test_close_one_position(world: World) -> None:
    await open_long(world)
    asked = await world.run(ROLE_TRADER, "position close", {"symbol": "MNQ"})
    done = await world.click(ROLE_TRADER, asked, "Confirm")
    await done.wait(2)
    assert "Closed MNQ" in done.text()
    assert await world.desk.services.positions() == []


async def test_unauthorized_flatten_is_refused_and_audited(world: World) -> None:
    await open_long(world)
    refused = await world.run(READER, "position flatten")
    assert refused.ephemeral and "You do not have trade permission" in refused.text()
    assert len(await world.desk.services.positions()) == 1
    audit = await world.store.audit.recent(20)
    refusal = [e for e in audit if not e.allowed]
    assert [(e.command, e.user_id) for e in refusal] == [("/position flatten", READER.id)]
    granted = [(e.command, e.user_id) for e in audit if e.allowed]
    assert ("/order market", TRADER.id) in granted


async def test_admin_only_commands(world: World) -> None:
    refused = await world.run(TRADER, "risk halt", {"reason": "test"})
    assert refused.ephemeral and "admin permission" in refused.text()
    asked = await world.run(ADMIN, "risk halt", {"reason": "news"})
    done = await world.click(ADMIN, asked, "Confirm")
    await done.wait(2)
    assert "halted (news)" in done.text()
    blocked = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    assert blocked.ephemeral and "HALTED" in blocked.text()
    resumed = await world.run(ADMIN, "risk resume")
    assert "Kill switch" in resumed.text() and "none" in resumed.text()
    await open_long(world)
    audit = await world.store.audit.recent(30)
    assert any(e.command == "/risk halt confirmed" and e.user_id == ADMIN.id for e in audit)
