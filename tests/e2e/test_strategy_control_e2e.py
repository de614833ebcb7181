"""/strategy test | stop | start | run-now and /market depth through the fake Discord against a running engine
on the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

from bot.app import TradeBot
from tests.fakes.discord_interactions import InteractionResult
from tests.fakes.discord_server import FakeDiscord
from tests.support.discord_world import ADMIN, GUILD, READER, TRADER, e2e_settings
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.demo.day import barrier
from trading.engine import Engine
from trading.services import Services
from trading.store import Store

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


@asynccontextmanager
async def bot_on(engine: Engine, day: SimDay, store: Store) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            settings = e2e_settings(fake.token)
            bot = TradeBot(settings, Services(engine), store, clock=day.clock, guild_ready_timeout=0.05)
            await bot.login(fake.token)
            task = asyncio.create_task(bot.connect(reconnect=True))
            await fake.wait_connected()
            await bot.wait_until_ready()
            try:
                yield fake
            finally:
                await bot.close()
                await asyncio.gather(task, return_exceptions=True)


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for the engine to have handled what the market hub sent (a hang guard, not a timing check)."""
    async with asyncio.timeout(30):
        for _ in iter(lambda: predicate(), True):
            await asyncio.sleep(0.02)


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


async def test_market_depth_shows_the_engines_book(store: Store) -> None:
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _), bot_on(engine, day, store) as fake:
        channel = GUILD.channels[0]
        cid = day.cid("MNQ")
        await day.sim.market.quote(cid, "21000.00", "21000.50", bid_size=7, ask_size=3)
        await until(lambda: engine.books[cid].snapshot().bids[:1] == [(Decimal("21000.00"), 7)])
        depth = await fake.invoke(READER, GUILD, channel, "market depth", {"symbol": "MNQ", "levels": 5})
        text = depth.text()
        assert "MNQ depth" in text and "bid size" in text, text
        lines = [ln.split() for ln in text.splitlines()]
        assert ["21000.50", "3"] in lines and ["7", "21000.00"] in lines, text
        # the best bid moves down: the level above it goes
        await day.sim.market.quote(cid, "20999.75", None, bid_size=4)
        await until(lambda: engine.books[cid].snapshot().bids[:1] == [(Decimal("20999.75"), 4)])
        again = await fake.invoke(READER, GUILD, channel, "market depth", {"symbol": "MNQ"})
        assert "21000.00" not in again.text() and "20999.75" in again.text()
        other = await fake.invoke(READER, GUILD, channel, "market depth", {"symbol": "MBT"})
        assert (
            other.ephemeral and "MBT is not on the engine's market feed (depth is kept for: MES, MNQ)" in other.text()
        )
