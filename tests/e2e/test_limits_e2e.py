"""The bot answers only in the configured channels; elsewhere every command is refused and audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.discord_world import ADMIN, FILLS, GENERAL, GUILD, World


@pytest.fixture
async def world_settings() -> dict[str, Any]:
    return {"permissions": {"allowed_channels": [GENERAL.id], "allowed_guilds": [GUILD.id]}}


async def test_commands_only_in_allowed_channels(world: World) -> None:
    here = await world.fake.invoke(ADMIN, GUILD, GENERAL, "risk limits")
    assert "Risk limits" in here.text()
    elsewhere = await world.fake.invoke(ADMIN, GUILD, FILLS, "risk limits")
    assert elsewhere.ephemeral and "does not take commands in this channel" in elsewhere.text()
    refusals = [e for e in await world.store.audit.recent(10) if not e.allowed]
    assert [(e.command, e.user_id) for e in refusals] == [("/risk limits", ADMIN.id)]
