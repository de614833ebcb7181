"""`python -m bot`'s serve(): database, simulator, gateway login, the bot on the (fake) Discord, clean stop."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from bot.run import serve
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.trading_env import SESSION_START
from tests.support.discord_world import ADMIN, FILLS, GUILD, READER, TRADER, e2e_settings
from trading.clock import SimClock
from trading.config import Settings
from trading.domain import NotificationKind
from trading.sim.contracts import ContractBook
from trading.sim.options import SimOptions
from trading.store import Store


def info_account_id(text: str) -> str:
    """The account id from the /account info card ("Id" field)."""
    lines = text.splitlines()
    return lines[lines.index("Id") + 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_serve_with_token_then_stop(database_url: str, store: Store) -> None:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            base = e2e_settings(fake.token)
            settings = Settings(
                **{
                    **base.model_dump(),
                    "database": {"url": database_url},
                    "sim": {"port": free_port()},
                    "discord": {**base.discord.model_dump(), "token": fake.token},
                }
            )
            stop = asyncio.Event()
            clock = SimClock(SESSION_START, speed=1.0)
            options = SimOptions(contracts_as_of=SESSION_START)
            task = asyncio.create_task(serve(settings, stop, clock=clock, sim_options=options))
            await fake.wait_connected()
            await fake.wait_until(lambda: bool(fake.synced(GUILD.id)))
            info = await fake.invoke(READER, GUILD, GUILD.channels[0], "account info")
            assert "Account PRAC-V2-SIM-1" in info.text()
            listed = await fake.invoke(READER, GUILD, GUILD.channels[0], "strategy list")
            assert "overnight_range** enabled, running" in listed.text(), listed.text()
            status = await fake.invoke(READER, GUILD, GUILD.channels[0], "strategy status", {"name": "overnight_range"})
            assert "running" in status.text() and "yes" in status.text()
            dry = await fake.invoke(READER, GUILD, GUILD.channels[0], "strategy test", {"name": "overnight_range"})
            assert "Dry run of overnight_range" in dry.text() and "MNQ" in dry.text(), dry.text()
            # A trade in the simulator, then a market order from Discord: the engine's user hub brings the
            # fill back, stored once and posted to the fills channel.
            contract = ContractBook(SESSION_START.date()).by_root("MNQ")
            assert contract is not None
            async with httpx.AsyncClient() as http:
                sim_url = f"http://127.0.0.1:{settings.sim.port}/sim/market/trade"
                answer = await http.post(sim_url, json={"contractId": contract.id, "price": "21000.00"})
                assert answer.status_code == 200
            quote = await fake.invoke(READER, GUILD, GUILD.channels[0], "market quote", {"symbol": "MNQ"})
            assert "MNQ 21000" in quote.text() and "Bid" in quote.text(), quote.text()
            order = await fake.invoke(
                TRADER, GUILD, GUILD.channels[0], "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1}
            )
            assert "Order placed: BUY 1 MNQ" in order.text(), order.text()
            await fake.wait_until(lambda: len(fake.messages(FILLS.id)) >= 1)
            assert fake.messages(FILLS.id)[0].embeds[0]["title"].startswith("Entry fill: BUY 1 MNQ @ ")
            # Halt through the running engine: its in-memory risk state changes and is what gets saved.
            asked = await fake.invoke(ADMIN, GUILD, GUILD.channels[0], "risk halt", {"reason": "test halt"})
            clicked = await fake.click(
                ADMIN, GUILD, GUILD.channels[0], asked.message_id, asked.button("Confirm")["custom_id"]
            )
            await clicked.wait(2)
            assert "halted" in clicked.text() and "Positions closed" in clicked.text(), clicked.text()
            saved = await store.risk_state.get(int(info_account_id(info.text())))
            assert saved is not None and saved.kill_switch.value == "halted" and saved.reason == "test halt"
            refused = await fake.invoke(
                TRADER, GUILD, GUILD.channels[0], "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1}
            )
            assert refused.ephemeral and "HALTED" in refused.text()
            stop.set()
            await asyncio.wait_for(task, 30)
            assert len([m for m in fake.messages(FILLS.id) if "Entry fill" in m.embeds[0]["title"]]) == 1


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
