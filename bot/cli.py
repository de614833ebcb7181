"""`tradebot run`, provided by the application through the `tradebot.commands` entry point
(pyproject.toml): `trading/cli/` discovers it, so the engine library never imports `bot/`.

With a Discord token (and no replay options) the Discord application runs around the engine
(bot/run.py). Without one the engine runs headless: its jobs on the clock (`ClockDriver`) and the
notifications delivered by the bot's own notifier to the console (the one headless path).
"""

from __future__ import annotations

import argparse

from trading.cli.common import Subcommands
from trading.cli.run import RunPlan, add_run_arguments, plan_run, stop_on_signals


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "run",
        help="run the trading engine and its scheduled jobs (paper: the simulator; live: the configured gateway)",
        description="Start the engine: contracts, bars, strategies (state of the day restored), both hubs, "
        "reconciliation with the broker, then the day's jobs (pre-open, open, last entry, flatten, summary) "
        "on the clock. With a Discord token: the Discord bot around the same engine; without one, "
        "notifications on the console. --paper trades against the simulator (in-process, or a running "
        "`tradebot sim` with --sim-url); without it app.mode decides, and live mode refuses to start "
        "without credentials.",
    )
    add_run_arguments(p)
    p.set_defaults(fn=_main)


def _main(args: argparse.Namespace) -> int:
    plan = plan_run(args)
    if isinstance(plan, int):
        return plan
    import asyncio  # here, not at the top: `tradebot --help` imports this module to register `run`

    return asyncio.run(_run(plan, getattr(args, "config", None)))


async def _run(plan: RunPlan, config_file: str | None = None) -> int:
    import asyncio

    from bot.app import console_notifications
    from trading.engine.runner import run_engine
    from trading.services.commands import serve_control

    stop = asyncio.Event()
    stop_on_signals(stop)
    if plan.settings.accounts:  # [[accounts]]: several accounts, one engine each
        from trading.clock import Clock, LiveClock, SimClock
        from trading.engine.accounts import run_accounts
        from trading.engine.runner import say

        clock: Clock = SimClock(plan.clock_start, speed=plan.speed) if plan.clock_start is not None else LiveClock()
        if plan.discord_token:  # and the Discord bot addressing each of them
            from bot.run import serve_accounts

            return await serve_accounts(
                plan.settings, stop, clock=clock, sim_url=plan.sim_url, config_file=config_file, write=say
            )
        return await run_accounts(
            plan.settings,
            clock,
            stop,
            sim_url=plan.sim_url,
            write=say,
            notifications=console_notifications,
            control=serve_control,
        )
    if plan.discord_token and not plan.sim_url and plan.clock_start is None:
        from bot.run import serve

        await serve(plan.settings, stop, config_file=config_file)  # the file /stats reload reads again
        return 0
    return await run_engine(
        plan.settings,
        sim_url=plan.sim_url,
        clock_start=plan.clock_start,
        speed=plan.speed,
        stop=stop,
        notifications=console_notifications,
        control=serve_control,  # `tradebot status|flatten|halt|resume` reach this instance through the store
    )
