"""Run the bot: `python -m bot [--config FILE]`.

Opens the database (migrating it), starts the simulator in paper mode, starts the engine (the one owner
of the account: strategies, if any are enabled, hubs, fills streamed into the outbox, its scheduled
jobs; every order, whoever asks, goes through it) and runs `TradeBot` with the Discord token, or
headless (console notifications) without one. Ctrl-C or SIGTERM stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.app import TradeBot, run_headless
from bot.scheduler import Scheduler, default_scheduler
from trading.clock import Clock, LiveClock
from trading.config import ConfigError, Settings, load_settings
from trading.engine import Engine
from trading.engine_jobs import Jobs
from trading.engine_setup import Gateway, build_engine, close_engine, live_gateway, sim_gateway
from trading.services import Services
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store, migrate, open_database

log = logging.getLogger("tradebot")


@dataclass
class Wiring:
    services: Services
    engine: Engine


@contextlib.asynccontextmanager
async def gateway(settings: Settings, clock: Clock, options: SimOptions | None) -> AsyncIterator[Gateway]:
    """The in-process simulator in paper mode, the configured gateway live."""
    if settings.app.mode != "paper":
        yield live_gateway(settings)
        return
    opts = options or SimOptions(market_mode="random", warmup_days=22, enforce_sessions=True)
    async with SimGateway(settings.sim, clock=clock, options=opts) as sim:
        yield sim_gateway(sim)


@contextlib.asynccontextmanager
async def wiring(settings: Settings, store: Store, clock: Clock, gw: Gateway) -> AsyncIterator[Wiring]:
    """The engine, started, and the services over it (the one place start-up is wired)."""
    engine = await build_engine(settings, store, clock, gw)
    try:
        await engine.start()
        yield Wiring(Services(engine), engine)
    finally:
        await close_engine(engine)


def engine_jobs(settings: Settings, engine: Engine) -> Jobs:
    return Jobs(engine, settings.app.data_dir.expanduser() / "charts")


def jobs_scheduler(settings: Settings, store: Store, wired: Wiring, clock: Clock) -> Scheduler:
    """Headless, the same jobs as with Discord: the bot's daily reports and the engine's session jobs,
    backfill, token refresh and health check (notifications go to the console)."""
    sched = default_scheduler(settings, store, wired.services, clock)
    sched.attach_engine(engine_jobs(settings, wired.engine))
    return sched


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Clock | None = None,
    sim_options: SimOptions | None = None,
) -> None:
    clock = clock or LiveClock()
    db = await open_database(settings)
    async with db:
        await migrate(db.pool)
        store = Store(db.pool)
        async with (
            gateway(settings, clock, sim_options) as gw,
            wiring(settings, store, clock, gw) as wired,
        ):
            token = settings.discord.token.get_secret_value() if settings.discord.token else ""
            if not token:
                log.warning(
                    "no Discord token (TRADEBOT_DISCORD__TOKEN): running headless, notifications on the console"
                )
                sched = jobs_scheduler(settings, store, wired, clock)
                sched.start()
                try:
                    await run_headless(settings, store, stop)
                finally:
                    sched.shutdown()
                return
            bot = TradeBot(settings, wired.services, store, clock=clock)
            bot.scheduler.attach_engine(engine_jobs(settings, wired.engine))
            async with bot:
                runner = asyncio.create_task(bot.keep_connected(token))  # never raises: Discord is optional
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
