"""`tradebot config check`."""

from __future__ import annotations

import argparse

from trading.cli.common import Subcommands, load


def _config_check(args: argparse.Namespace) -> int:
    import json

    from trading.config import masked

    print(json.dumps(masked(load(args)), indent=2))
    return 0


def register(sub: Subcommands) -> None:
    config = sub.add_parser("config", help="configuration", description="Inspect the configuration.")
    group = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    group.add_parser(
        "check",
        help="validate and print the effective configuration (secrets masked)",
        description="Validate every setting; print the effective configuration with secrets masked. "
        "Exits 2 with one line per problem when a value is invalid.",
    ).set_defaults(fn=_config_check)
