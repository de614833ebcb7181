"""Run the bot: `python -m bot [--config FILE]` (meant to back `tradebot run`).

Opens the database (migrating it), starts the simulator in paper mode, logs in to the gateway and
runs `TradeBot` with the Discord token, or headless (console notifications) without one. Ctrl-C or
SIGTERM stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator

from bot.app import TradeBot, run_headless
from trading.clock import LiveClock
from trading.config import ConfigError, Settings, load_settings
from trading.projectx.rest import ProjectXClient
from trading.services import Services
from trading.sim.gateway import SimGateway
from trading.store import Store, migrate, open_database

log = logging.getLogger("tradebot")


@contextlib.asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[ProjectXClient]:
    """The broker client: the in-process simulator in paper mode, the configured gateway live."""
    if settings.app.mode == "paper":
        async with (
            SimGateway(settings.sim) as sim,
            ProjectXClient(
                settings.projectx, base_url=sim.base_url, username=sim.username, api_key=sim.api_key
            ) as client,
        ):
            yield client
    else:
        async with ProjectXClient(settings.projectx) as client:
            yield client


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    db = await open_database(settings)
    async with db:
        await migrate(db.pool)
        store = Store(db.pool)
        async with gateway(settings) as broker:
            services = Services(settings, store, broker, LiveClock(), account_id=settings.projectx.account_id)
            token = settings.discord.token.get_secret_value() if settings.discord.token else ""
            if not token:
                log.warning(
                    "no Discord token (TRADEBOT_DISCORD__TOKEN): running headless, notifications on the console"
                )
                await run_headless(settings, services, store, stop)
                return
            bot = TradeBot(settings, services, store)
            async with bot:
                runner = asyncio.create_task(bot.start(token))
                waiter = asyncio.create_task(stop.wait())
                await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
                await bot.close()
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Run the tradebot Discord bot.")
    parser.add_argument("--config", help="TOML file layered over config/default.toml")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.app.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())
    return 0
