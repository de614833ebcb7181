"""The real bot, the real services over a running engine, the simulator and Postgres, driven through the
fake Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import TradeBot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.trading_env import trading_desk
from tests.support.discord_world import GUILD, World, e2e_settings
from trading.store import Store


@pytest.fixture
async def world_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
async def world(store: Store, world_settings: dict[str, Any]) -> AsyncIterator[World]:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            settings = e2e_settings(fake.token, **world_settings)
            async with trading_desk(store, settings) as desk:
                bot = TradeBot(settings, desk.services, store, clock=desk.clock, guild_ready_timeout=0.05)
                await bot.login(fake.token)
                task = asyncio.create_task(bot.connect(reconnect=True))
                await fake.wait_connected()
                await bot.wait_until_ready()
                try:
                    yield World(fake, desk, bot, store)
                finally:
                    await bot.close()
                    await asyncio.gather(task, return_exceptions=True)
