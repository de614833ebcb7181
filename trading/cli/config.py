"""`tradebot config check`."""

from __future__ import annotations

import argparse

from trading.cli.common import Subcommands, load


def _config_check(args: argparse.Namespace) -> int:
    import json

    from trading.config import ConfigError, masked
    from trading.news import NewsFileError, describe, file_problems, load_news

    settings = load(args)
    shown = masked(settings)
    b = settings.blackout
    if b.file is not None:  # the news file is part of the configuration: checked, its windows shown
        try:
            shown["blackout_windows"] = describe(load_news(b.file, b.minutes_before, b.minutes_after).events)
        except NewsFileError as exc:
            raise ConfigError(file_problems(exc)) from None
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


def register(sub: Subcommands) -> None:
    config = sub.add_parser("config", help="configuration", description="Inspect the configuration.")
    group = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    group.add_parser(
        "check",
        help="validate and print the effective configuration (secrets masked)",
        description="Validate every setting and the news file of [blackout] (its windows are listed); print "
        "the effective configuration with secrets masked. Exits 2 with one line per problem when a value "
        "is invalid.",
    ).set_defaults(fn=_config_check)
