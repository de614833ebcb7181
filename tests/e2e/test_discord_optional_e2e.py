"""Discord is optional at run time: unreachable at start, refusing later, down for a while, the process
goes on trading, and the notifications held meanwhile reach Discord once it is back, once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import discord.gateway
import discord.http
import httpx
import yarl

from bot.app import TradeBot
from bot.run import serve
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.trading_env import SESSION_START, trading_desk
from tests.support.discord_world import FILLS, GUILD, ORDERS, e2e_settings
from tests.support.waits import eventually
from trading.clock import SimClock
from trading.config import Settings
from trading.domain import NotificationKind, OrderRequest, OrderType, Side
from trading.projectx.rest import ProjectXClient, new_custom_tag
from trading.sim.contracts import ContractBook
from trading.sim.options import SimOptions
from trading.store import Store

QUICK = {"poll_interval_s": 0.05, "retry_base_s": 0.05, "retry_max_s": 0.5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def titles(fake: FakeDiscord, channel_id: int) -> list[str]:
    return [m.embeds[0]["title"] for m in fake.messages(channel_id)]


@contextlib.contextmanager
def discord_at(base: str, gateway: str) -> Iterator[None]:
    """Point discord.py's REST base and gateway somewhere (a closed port: discord.com unreachable)."""
    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, yarl.URL(gateway)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


async def test_serve_trades_while_discord_is_down_at_start_then_delivers_once_in_order(
    database_url: str, store: Store
) -> None:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            base = e2e_settings(fake.token, notifications=QUICK)
            settings = Settings(
                **{
                    **base.model_dump(),
                    "database": {"url": database_url},
                    "sim": {"port": free_port()},
                    "scheduler": {"health_interval_s": 5},
                    "discord": {**base.discord.model_dump(), "token": fake.token},
                }
            )
            fake.set_down(True)  # every REST call and the gateway answer 503 from the start
            stop = asyncio.Event()
            options = SimOptions(contracts_as_of=SESSION_START)
            task = asyncio.create_task(serve(settings, stop, clock=SimClock(SESSION_START), sim_options=options))
            try:
                # The scheduler's jobs run without Discord.
                await eventually(lambda: _job_ran(store, "health"))
                # The engine trades without Discord: an order at the broker, its fill stored from the user hub
                # and its notification queued.
                contract = ContractBook(SESSION_START.date()).by_root("MNQ")
                assert contract is not None
                sim_url = f"http://127.0.0.1:{settings.sim.port}"
                async with httpx.AsyncClient() as http:
                    trade = {"contractId": contract.id, "price": "21000.00"}
                    assert (await http.post(f"{sim_url}/sim/market/trade", json=trade)).status_code == 200
                async with ProjectXClient(
                    settings.projectx,
                    base_url=sim_url,
                    username=settings.sim.username,
                    api_key=settings.sim.api_key.get_secret_value(),
                ) as broker:
                    [account] = await broker.accounts()
                    request = OrderRequest(
                        account.id, contract.id, Side.BUY, OrderType.MARKET, 1, new_custom_tag("ext")
                    )
                    await broker.place_order(request)
                await eventually(lambda: _pending_of(store, NotificationKind.ENTRY_FILL))
                for i in range(3):
                    await store.outbox.enqueue(NotificationKind.ORDER, {"title": f"held {i}"})
                assert fake.messages(FILLS.id) == [] and fake.messages(ORDERS.id) == []
                assert not task.done()
                # Discord comes back: the bot logs in and what was held goes out, once, in order.
                fake.set_down(False)
                await fake.wait_connected()
                await fake.wait_until(lambda: len(fake.messages(ORDERS.id)) >= 3 and len(fake.messages(FILLS.id)) >= 1)
                await eventually(lambda: _settled(store))
                assert titles(fake, ORDERS.id) == ["held 0", "held 1", "held 2"]
                [fill] = titles(fake, FILLS.id)
                assert fill.startswith("Entry fill: BUY 1 MNQ")
                await fake.wait_until(lambda: bool(fake.synced(GUILD.id)))
            finally:  # never leave the process running into the next test (one event loop per session)
                stop.set()
                await asyncio.wait_for(task, 30)


async def test_the_bot_outlives_an_unreachable_start_an_outage_and_a_refused_token(store: Store) -> None:
    async with FakeDiscord([GUILD]) as fake:
        settings = e2e_settings(fake.token, notifications=QUICK)
        token = fake.token
        closed = free_port()  # nothing listens there: discord.com unreachable
        with discord_at(f"http://127.0.0.1:{closed}/api/v10", f"ws://127.0.0.1:{closed}/gateway"):
            async with trading_desk(store, settings) as desk:
                bot = TradeBot(settings, desk.services, store, clock=desk.clock, guild_ready_timeout=0.05)
                async with bot:
                    keeper = asyncio.create_task(bot.keep_connected(token))
                    for i in range(2):
                        await store.outbox.enqueue(NotificationKind.ORDER, {"title": f"before {i}"})
                    await eventually(lambda: _tried(store, "before 0"))
                    assert bot.scheduler.aps.running and not keeper.done()
                    with fake.patched():  # discord.com reachable again
                        await fake.wait_connected()
                        await fake.wait_until(lambda: len(fake.messages(ORDERS.id)) >= 2)
                        # Down for a while: REST 503, the gateway dropped.
                        fake.set_down(True)
                        await store.outbox.enqueue(NotificationKind.ORDER, {"title": "during"})
                        await eventually(lambda: _tried(store, "during"))
                        fake.set_down(False)
                        await fake.wait_until(lambda: len(fake.messages(ORDERS.id)) >= 3)
                        # The token is refused (the gateway closes 4004, discord.py closes the client and
                        # gives up; login answers 401): the bot keeps trying, its background keeps running.
                        logins = fake.requests.count(("GET", "/users/@me"))
                        fake.token = "revoked"
                        fake.set_down(True)
                        fake.set_down(False)
                        await fake.wait_until(lambda: fake.requests.count(("GET", "/users/@me")) > logins + 1, 60)
                        await store.outbox.enqueue(NotificationKind.ORDER, {"title": "refused"})
                        await eventually(lambda: _tried(store, "refused"))
                        assert bot.scheduler.aps.running and not keeper.done()
                        fake.token = token
                        await fake.wait_connected()
                        await fake.wait_until(lambda: len(fake.messages(ORDERS.id)) >= 4)
                        await eventually(lambda: _settled(store))
                        assert titles(fake, ORDERS.id) == ["before 0", "before 1", "during", "refused"]
                await bot.close()
                await asyncio.wait_for(keeper, 30)


async def _tried(store: Store, title: str) -> bool:
    """The message with this title failed at least once (and waits in the outbox)."""
    return any(m.attempts > 0 for m in await store.outbox.recent(50, status="pending") if m.payload["title"] == title)


async def _job_ran(store: Store, job: str) -> bool:
    return await store.jobs.last_run(job) is not None


async def _pending_of(store: Store, kind: NotificationKind) -> bool:
    return any(m.kind is kind for m in await store.outbox.recent(50, status="pending"))


async def _settled(store: Store) -> bool:
    return await store.outbox.pending_count() == 0
