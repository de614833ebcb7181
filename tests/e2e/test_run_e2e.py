"""`python -m bot`'s serve(): database, simulator, gateway login, the bot on the (fake) Discord, clean stop."""

from __future__ import annotations

import asyncio

import pytest

from bot.run import serve
from tests.e2e.conftest import GUILD, READER, e2e_settings
from tests.fakes.discord_server import FakeDiscord
from trading.config import Settings
from trading.domain import NotificationKind
from trading.store import Store


async def test_serve_with_token_then_stop(database_url: str, store: Store) -> None:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            base = e2e_settings(fake.token)
            settings = Settings(
                **{
                    **base.model_dump(),
                    "database": {"url": database_url},
                    "sim": {"port": 0},
                    "discord": {**base.discord.model_dump(), "token": fake.token},
                }
            )
            stop = asyncio.Event()
            task = asyncio.create_task(serve(settings, stop))
            await fake.wait_connected()
            await fake.wait_until(lambda: bool(fake.synced(GUILD.id)))
            info = await fake.invoke(READER, GUILD, GUILD.channels[0], "account info")
            assert "Account PRAC-V2-SIM-1" in info.text()
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_serve_headless_without_token(
    database_url: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database={"url": database_url}, sim={"port": 0}, notifications={"poll_interval_s": 0.05})
    queued = await store.outbox.enqueue(NotificationKind.ALERT, {"title": "headless check", "text": "console"})
    assert queued is not None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    for _ in range(300):
        message = await store.outbox.get(queued)
        if message is not None and message.status == "sent":
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert "[alerts] headless check | console" in capsys.readouterr().out
