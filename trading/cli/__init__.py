"""The `tradebot` command.

Each command group lives in its own module here (`trading/cli/<group>.py`) with a `register(sub)` that
adds its subparsers and sets `fn` on each leaf; `GROUPS` lists them in help order. To add a command
group, write its module and add its `register` there. Installed packages add groups
through the `tradebot.commands` entry point group (a `register(subparsers)` function each): the
application's `run` comes that way (bot/cli.py), so this library never imports the application.
A command's `fn(args) -> int` returns the exit code; typed errors (bad configuration, refused
credentials, the broker or the database failing) end it here with one clear line (`common.failure`).

Start-up: building the parser imports only these light modules (argparse and the group modules); a
command imports what it needs (settings, store, engine, simulator) inside its `fn`, so `tradebot
--help` and `tradebot version` load none of it, and one of the library's own commands skips the
entry point scan.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from trading.cli import account, backtest, bars, config, control, db, demo, health, optimize, route, sim, smoke, version
from trading.cli.common import EXIT_CONFIG as EXIT_CONFIG
from trading.cli.common import EXIT_FAILED as EXIT_FAILED
from trading.cli.common import Subcommands, failure
from trading.cli.verbosity import add_verbosity, verbosity

# The library's own groups, in help order (`--help` lists the plugin groups after them).
GROUPS: dict[str, Callable[[Subcommands], None]] = {
    "version": version.register,
    "config": config.register,
    "db": db.register,
    "demo": demo.register,
    "sim": sim.register,
    "backtest": backtest.register,
    "optimize": optimize.register,
    "bars": bars.register,
    "status": control.register_status,
    "flatten": control.register_flatten,
    "halt": control.register_halt,
    "resume": control.register_resume,
    "health": health.register,
    "smoke": smoke.register,
    "route": route.register,
    "account": account.register,
}


def command_groups(*, plugins: bool = True) -> list[Callable[[Subcommands], None]]:
    return [*GROUPS.values(), *(plugin_groups() if plugins else [])]


PLUGIN_GROUP = "tradebot.commands"


def plugin_groups() -> list[Callable[[Subcommands], None]]:
    """The `register` functions installed packages declare under the `tradebot.commands` entry points."""
    from importlib.metadata import entry_points

    found: list[Callable[[Subcommands], None]] = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        found.append(ep.load())
    return found


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradebot",
        description="Automated futures trading on TopstepX: a Discord bot, its engine and its tools.",
    )
    parser.add_argument("--config", metavar="FILE", help="a TOML file layered over config/default.toml")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in command_groups(plugins=plugins):
        register(sub)
    add_verbosity(parser)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The command word of `argv` (after `--config FILE`), None if there is none before an option."""
    rest = iter(argv)
    for word in rest:
        if word == "--config":
            next(rest, None)
        elif not word.startswith("--config="):
            return None if word.startswith("-") else word
    return None


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    # One of the library's own commands needs no entry point scan (importlib.metadata is a slow import).
    args = build_parser(plugins=_command_of(words) not in GROUPS).parse_args(words)
    if getattr(args, "fn", None) is not None:
        from trading.cli.logs import configure

        configure("WARNING", verbosity(args))  # `run` re-configures from app.log_level, with its log file
    try:
        result: int = args.fn(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        known = failure(exc)
        if known is None:
            raise
        code, line = known
        print(line, file=sys.stderr)
        return code
    return result
