"""/strategy test | stop | start | run-now through the fake Discord against a running engine on the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import TradeBot
from tests.e2e.conftest import ADMIN, GUILD, READER, TRADER, e2e_settings
from tests.fakes.discord_interactions import InteractionResult
from tests.fakes.discord_server import FakeDiscord
from tests.integration.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.demo import barrier
from trading.engine import Engine
from trading.engine_control import EngineControl
from trading.services import Services
from trading.store import Store

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


@asynccontextmanager
async def bot_on(engine: Engine, day: SimDay, store: Store) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            settings = e2e_settings(fake.token)
            control = EngineControl(engine)
            services = Services(
                settings, store, engine.client, day.clock, account_id=engine.account_id, strategies=control
            )
            bot = TradeBot(settings, services, store, fill_poll_s=None, clock=day.clock, guild_ready_timeout=0.05)
            await bot.login(fake.token)
            task = asyncio.create_task(bot.connect(reconnect=True))
            await fake.wait_connected()
            await bot.wait_until_ready()
            try:
                yield fake
            finally:
                await bot.close()
                await asyncio.gather(task, return_exceptions=True)


async def confirmed(fake: FakeDiscord, asked: InteractionResult) -> InteractionResult:
    done = await fake.click(ADMIN, GUILD, GUILD.channels[0], asked.message_id, asked.button("Confirm")["custom_id"])
    await done.wait(2)
    return done


async def test_strategy_commands_drive_the_running_engine(store: Store) -> None:
    async with (
        sim_day(DAY.rth_open) as day,
        engine_on(day, store) as (engine, counter),
        bot_on(engine, day, store) as fake,
    ):
        channel = GUILD.channels[0]
        name = {"name": "overnight_range"}
        dry = await fake.invoke(READER, GUILD, channel, "strategy test", name)
        text = dry.text()
        assert "Dry run of overnight_range" in text and "would place: BUY 1 stop @ " in text, text
        assert "would place: SELL 1 stop @ " in text and "bracket SL" in text
        assert day.tagged() == {}  # the dry run reached no broker

        refused = await fake.invoke(TRADER, GUILD, channel, "strategy stop", name)
        assert refused.ephemeral and "admin permission" in refused.text()
        asked = await fake.invoke(ADMIN, GUILD, channel, "strategy stop", name)
        assert "Confirm: stop strategy overnight_range" in asked.text()
        stopped = await confirmed(fake, asked)
        assert "overnight_range stopped" in stopped.text(), stopped.text()
        assert await store.strategy_state.enabled_overrides() == {"overnight_range": False}
        blocked = await fake.invoke(ADMIN, GUILD, channel, "strategy run-now", name)
        assert blocked.ephemeral and "is stopped: start it" in blocked.text()
        assert day.tagged() == {}

        started = await confirmed(fake, await fake.invoke(ADMIN, GUILD, channel, "strategy start", name))
        assert "overnight_range started" in started.text(), started.text()
        ran = await fake.invoke(ADMIN, GUILD, channel, "strategy run-now", name)
        assert "ran the open step of 2026-02-10 now; 4 order(s)" in ran.text(), ran.text()
        await barrier(engine, counter, None)
        assert sorted(day.tagged()) == sorted(TAGS)
        again = await fake.invoke(ADMIN, GUILD, channel, "strategy run-now", name)
        assert "0 order(s)" in again.text()
        assert all(len(ids) == 1 for ids in day.tagged().values())

        audit = await store.audit.recent(50)
        done = [(e.command, e.user_id) for e in audit if e.allowed]
        for command in ("/strategy stop confirmed", "/strategy start confirmed", "/strategy run-now"):
            assert (command, ADMIN.id) in done, done
        assert ("/strategy stop", TRADER.id) in [(e.command, e.user_id) for e in audit if not e.allowed]
