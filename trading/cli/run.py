"""What `tradebot run` needs from the engine library: its arguments, the checks before anything
starts (live mode refuses without credentials, a simulated clock needs a time zone), and signals.

The `run` command itself belongs to the application (`bot/cli.py`), which `trading/cli/` finds
through the `tradebot.commands` entry point: the engine library never imports `bot/`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from trading.cli.common import EXIT_CONFIG, load

if TYPE_CHECKING:  # start-up, not a circle: bot/cli.py imports this module to register `run`
    import asyncio

    from trading.config import Settings


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="trade against the simulator")
    mode.add_argument("--live", action="store_true", help="trade against the configured gateway")
    p.add_argument("--sim-url", metavar="URL", help="a running simulator (tradebot sim) instead of an in-process one")
    p.add_argument("--clock-start", metavar="ISO", help="run on a simulated clock from this time (replays, tests)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (with --clock-start)")


class RunPlan(NamedTuple):  # not a dataclass: `tradebot --help` imports this module (dataclasses is slow)
    settings: Settings  # app.mode set to what this run is (paper or live)
    sim_url: str | None
    clock_start: datetime | None
    speed: float

    @property
    def discord_token(self) -> str:
        token = self.settings.discord.token
        return token.get_secret_value() if token else ""


def live_without_credentials(settings: Settings) -> str | None:
    """Why live mode cannot start with these settings (the credentials it lacks), or None."""
    from trading.config import missing_credentials

    missing = missing_credentials(settings)
    if not missing:
        return None
    return (
        f"live mode needs {' and '.join(missing)} (set TRADEBOT_PROJECTX__USERNAME and "
        "TRADEBOT_PROJECTX__API_KEY in .env); use `tradebot run --paper` to trade against the built-in simulator"
    )


def plan_run(args: argparse.Namespace) -> RunPlan | int:
    """The checked run, or the exit code after printing why it cannot start."""
    from trading import affinity
    from trading.cli.logs import configure
    from trading.cli.verbosity import verbosity

    settings = load(args)
    log_file = configure(settings.app.log_level, verbosity(args), settings.app.log_dir)
    if log_file is not None:
        print(f"log file: {log_file} (rotated at 10 MB, 5 kept)", flush=True)
    paper = args.paper or (settings.app.mode == "paper" and not args.live)
    if not paper:
        problem = live_without_credentials(settings)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_CONFIG
    start = datetime.fromisoformat(args.clock_start) if args.clock_start else None
    if start is not None and start.tzinfo is None:
        print("error: --clock-start needs a time zone (e.g. 2026-02-10T14:30:00+00:00)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        cpu = affinity.apply(settings.app.cpu)  # before the run starts a thread: each one inherits it
    except affinity.AffinityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if cpu is not None:
        print(f"cpu: this process runs on CPU {cpu} (app.cpu = {settings.app.cpu!r})", flush=True)
    mode = "paper" if paper else "live"
    settings = settings.model_copy(update={"app": settings.app.model_copy(update={"mode": mode})})
    return RunPlan(settings, args.sim_url, start, args.speed)


def stop_on_signals(stop: asyncio.Event) -> None:
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on this platform's loop
            loop.add_signal_handler(sig, stop.set)
