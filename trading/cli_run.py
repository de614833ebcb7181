"""`tradebot run`: the engine and its jobs, against the simulator (`--paper`) or the configured gateway."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import datetime

from trading.cli_common import Subcommands, load

EXIT_CONFIG = 2


def _missing_credentials(username: str, api_key: str) -> str | None:
    missing = [name for name, value in (("projectx.username", username), ("projectx.api_key", api_key)) if not value]
    if not missing:
        return None
    return (
        f"live mode needs {' and '.join(missing)} (set TRADEBOT_PROJECTX__USERNAME and "
        "TRADEBOT_PROJECTX__API_KEY in .env); use `tradebot run --paper` to trade against the built-in simulator"
    )


def _main(args: argparse.Namespace) -> int:
    from trading.engine_runner import run_engine

    settings = load(args)
    logging.basicConfig(level=settings.app.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the rest
    paper = args.paper or (settings.app.mode == "paper" and not args.live)
    if not paper:
        problem = _missing_credentials(settings.projectx.username, settings.projectx.api_key.get_secret_value())
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_CONFIG
    start = datetime.fromisoformat(args.clock_start) if args.clock_start else None
    if start is not None and start.tzinfo is None:
        print("error: --clock-start needs a time zone (e.g. 2026-02-10T14:30:00+00:00)", file=sys.stderr)
        return EXIT_CONFIG

    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    with_discord = bool(token) and not args.sim_url and start is None

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if with_discord:
            # The application entry point hands over to the Discord application (bot/run.py: TradeBot,
            # the engine and its jobs on the bot's scheduler). Imported by name: the trading library
            # itself never depends on bot/.
            import importlib

            mode = "paper" if paper else "live"
            bot_run = importlib.import_module("bot.run")
            await bot_run.serve(
                settings.model_copy(update={"app": settings.app.model_copy(update={"mode": mode})}), stop
            )
            return 0
        return await run_engine(
            settings, paper=paper, sim_url=args.sim_url, clock_start=start, speed=args.speed, stop=stop
        )

    return asyncio.run(main())


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "run",
        help="run the trading engine and its scheduled jobs (paper: the simulator; live: the configured gateway)",
        description="Start the engine: contracts, bars, strategies (state of the day restored), both hubs, "
        "reconciliation with the broker, then the day's jobs (pre-open, open, last entry, flatten, summary) "
        "on the clock, notifications on the console (with a Discord token: the Discord bot around the same "
        "engine, bot/run.py). --paper trades against the simulator (in-process, "
        "or a running `tradebot sim` with --sim-url); without it app.mode decides, and live mode refuses "
        "to start without credentials.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="trade against the simulator")
    mode.add_argument("--live", action="store_true", help="trade against the configured gateway")
    p.add_argument("--sim-url", metavar="URL", help="a running simulator (tradebot sim) instead of an in-process one")
    p.add_argument("--clock-start", metavar="ISO", help="run on a simulated clock from this time (replays, tests)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (with --clock-start)")
    p.set_defaults(fn=_main)
