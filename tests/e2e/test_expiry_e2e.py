"""Confirmations expire: the message says so, its buttons are disabled and nothing was done."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.discord_world import TRADER, World


@pytest.fixture
async def world_settings() -> dict[str, Any]:
    return {"permissions": {"confirm_timeout_s": 0.3}}


async def test_unanswered_flatten_expires(world: World) -> None:
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    asked = await world.run(TRADER, "position flatten")
    await asked.wait(2)
    assert "Expired: flatten" in asked.last.content
    assert all(b.get("disabled") for b in asked.last.buttons())
    assert len(await world.desk.services.positions()) == 1
