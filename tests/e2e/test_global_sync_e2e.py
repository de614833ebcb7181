"""Without configured guilds the command tree is synced globally, and commands still work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.discord_world import GUILD, READER, World


@pytest.fixture
async def world_settings() -> dict[str, Any]:
    return {"discord": {"guild_ids": []}}


async def test_global_sync(world: World) -> None:
    assert world.fake.synced(GUILD.id) == []
    assert "order" in world.fake.synced(None)
    result = await world.run(READER, "risk limits")
    assert "Risk limits" in result.text()
