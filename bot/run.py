"""Run the bot: `python -m bot [--config FILE]`.

Starts the engine with `trading.engine.runner.running_engine` (the one start-up: database, the simulator
in paper mode, the engine as the one owner of the account: strategies, if any are enabled, hubs, fills
streamed into the outbox; every order, whoever asks, goes through it) and runs `TradeBot` with the
Discord token, or headless (console notifications and the same scheduled jobs) without one. With
`[[accounts]]` and a token, `serve_accounts`: every account's engine through `run_accounts` and the bot
addressing each account by name. Ctrl-C or SIGTERM stops everything cleanly; a typed error ends it with
one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot.app import TradeBot, run_headless
from bot.scheduler import Scheduler, default_scheduler
from trading.cli.common import failure
from trading.cli.logs import configure
from trading.cli.run import stop_on_signals
from trading.clock import Clock, LiveClock
from trading.config import Settings, load_settings
from trading.engine import Engine
from trading.engine.accounts import AccountsProcess, first_trading, run_accounts
from trading.engine.runner import engine_jobs, running_engine
from trading.metrics import LatencyMetrics
from trading.services import Services
from trading.services.accounts import AccountDesk
from trading.services.commands import serve_control
from trading.sim.options import SimOptions
from trading.store import Store

log = logging.getLogger("tradebot")


@dataclass
class Wiring:
    services: Services
    engine: Engine


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
    config_file: str | None = None,
) -> None:
    clock = clock or LiveClock()
    # `tradebot status|flatten|halt|resume` reach this instance through the store (serve_control).
    async with running_engine(settings, clock, stop, sim_options=sim_options, control=serve_control) as running:
        if running is None:  # stopped while waiting as a standby
            return
        store = running.store
        wired = Wiring(Services(running.engine), running.engine)
        token = settings.discord.token.get_secret_value() if settings.discord.token else ""
        if not token:
            log.warning("no Discord token (TRADEBOT_DISCORD__TOKEN): running headless, notifications on the console")
            sched = jobs_scheduler(settings, store, wired, clock)
            sched.start()
            try:
                await run_headless(settings, store, stop, running.engine.metrics)
            finally:
                sched.shutdown()
            return
        bot = TradeBot(settings, wired.services, store, clock=clock)
        bot.config_file = config_file  # what `/stats reload` reads again (None: TRADEBOT_CONFIG)
        bot.scheduler.attach_engine(engine_jobs(settings, wired.engine))
        async with bot:
            runner = asyncio.create_task(bot.keep_connected(token))  # never raises: Discord is optional
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            await bot.close()
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


async def serve_accounts(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Clock | None = None,
    sim_url: str | None = None,
    sim_options: SimOptions | None = None,
    config_file: str | None = None,
    write: Callable[[str], None] = log.info,
) -> int:
    """`[[accounts]]` with a Discord token: every account's engine in this process (`run_accounts`, the one
    runner of several accounts: their leases, jobs, copy mode) and the bot around them, addressing each
    account by name (`AccountDesk`). The bot delivers the process's notifications (its notifier over the
    whole outbox, every account's). It comes up once one account trades (a standby: once it has taken one
    over) and the accounts that start later join its list as they do."""
    clock = clock or LiveClock()
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    process: asyncio.Future[AccountsProcess] = asyncio.get_running_loop().create_future()

    @contextlib.asynccontextmanager
    async def discord_face(settings: Settings, store: Store, posted: LatencyMetrics) -> AsyncIterator[None]:
        face = asyncio.create_task(_bot_for(settings, store, posted, clock, process, token, config_file))
        try:
            yield None
        finally:
            face.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await face

    return await run_accounts(
        settings,
        clock,
        stop,
        sim_url=sim_url,
        sim_options=sim_options,
        write=write,
        notifications=discord_face,
        control=serve_control,
        started=process.set_result,
    )


async def _bot_for(
    settings: Settings,
    store: Store,
    posted: LatencyMetrics,
    clock: Clock,
    process: asyncio.Future[AccountsProcess],
    token: str,
    config_file: str | None,
) -> None:
    accounts = await process
    first = await first_trading(accounts)
    if first is None:  # no account could start: nothing to face
        return
    # The first trading account's services serve what is the login's, not an account's: market data,
    # the daily latency report. Every per-account command names its account (AccountDesk).
    bot = TradeBot(settings, Services(first), store, clock=clock, desk=AccountDesk(accounts), posted=posted)
    bot.config_file = config_file
    async with bot:
        # The keeper in a task of its own, as in `serve`: a close() from inside the keeper task is taken for
        # discord.py dropping the connection (only Discord goes); closed from here, when this face is
        # cancelled, it is the shutdown: the scheduler and the notifier stop too.
        runner = asyncio.create_task(bot.keep_connected(token))  # never raises: Discord is optional
        try:
            await asyncio.shield(runner)
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Run the tradebot Discord bot.")
    parser.add_argument("--config", help="TOML file layered over config/default.toml")
    args = parser.parse_args(argv)

    async def run(settings: Settings) -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        if settings.accounts and settings.discord.token:
            await serve_accounts(settings, stop, config_file=args.config)
        else:
            await serve(settings, stop, config_file=args.config)

    try:
        settings = load_settings(args.config)
        configure(settings.app.log_level, 0, settings.app.log_dir)
        asyncio.run(run(settings))
    except Exception as exc:
        known = failure(exc)  # a typed error (configuration, credentials, broker, database): one line
        if known is None:
            raise
        code, line = known
        print(line, file=sys.stderr)
        return code
    return 0
