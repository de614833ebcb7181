"""The `tradebot` command.

Each command group lives in a small `register_*` function (here, or in a `trading/cli_<group>.py`
module) that adds its subparsers and sets `fn` on each leaf; `command_groups()` lists them in
help order. To add a command group, write its module and append its `register` to that list.
Installed packages add groups through the `tradebot.commands` entry point group (a
`register(subparsers)` function each): the application's `run` comes that way (bot/cli.py), so
this library never imports the application.
A command's `fn(args) -> int` returns the exit code; typed errors (bad configuration, refused
credentials, the broker or the database failing) end it here with one clear line (`cli_common.failure`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from trading import __version__, native
from trading.cli.common import EXIT_CONFIG as EXIT_CONFIG
from trading.cli.common import EXIT_FAILED as EXIT_FAILED
from trading.cli.common import Subcommands, failure, load


def _version(_: argparse.Namespace) -> int:
    print(f"tradebot {__version__}; execution path: {native.describe()}")
    return 0


def register_version(sub: Subcommands) -> None:
    sub.add_parser(
        "version",
        help="print the version and whether the Rust extension is loaded",
        description="Print the version and the active execution path (rust or python, and why).",
    ).set_defaults(fn=_version)


def _config_check(args: argparse.Namespace) -> int:
    import json

    from trading.config import masked

    print(json.dumps(masked(load(args)), indent=2))
    return 0


def register_config(sub: Subcommands) -> None:
    config = sub.add_parser("config", help="configuration", description="Inspect the configuration.")
    group = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    group.add_parser(
        "check",
        help="validate and print the effective configuration (secrets masked)",
        description="Validate every setting; print the effective configuration with secrets masked. "
        "Exits 2 with one line per problem when a value is invalid.",
    ).set_defaults(fn=_config_check)


def command_groups() -> list[Callable[[Subcommands], None]]:
    # Imported here: a group's module may import heavy parts (the store, the engine) that `version` never needs.
    from trading.cli import backtest as backtest_cli
    from trading.cli import bars as cli_bars
    from trading.cli import db as cli_db
    from trading.cli import demo as cli_demo
    from trading.cli import sim as sim_cli

    return [
        register_version,
        register_config,
        cli_db.register,
        cli_demo.register,
        sim_cli.register,
        backtest_cli.register,
        cli_bars.register,
        *plugin_groups(),
    ]


PLUGIN_GROUP = "tradebot.commands"


def plugin_groups() -> list[Callable[[Subcommands], None]]:
    """The `register` functions installed packages declare under the `tradebot.commands` entry points."""
    from importlib.metadata import entry_points

    found: list[Callable[[Subcommands], None]] = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        found.append(ep.load())
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradebot",
        description="Automated futures trading on TopstepX: a Discord bot, its engine and its tools.",
    )
    parser.add_argument("--config", metavar="FILE", help="a TOML file layered over config/default.toml")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in command_groups():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
