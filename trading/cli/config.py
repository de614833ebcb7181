"""`tradebot config check`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from trading.cli.common import Subcommands, load


def _config_check(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from trading.cli.run import live_without_credentials
    from trading.config import ConfigError, masked
    from trading.news import NewsFileError, describe, file_problems, load_news

    settings = load(args)
    if settings.app.mode == "live" and (problem := live_without_credentials(settings)):
        raise ConfigError([f"app.mode = 'live': {problem}"])  # what `tradebot run` would refuse
    unknown, unchecked = asyncio.run(symbol_problems(settings))
    if unknown:
        raise ConfigError(unknown)
    shown = masked(settings)
    for note in [*settings.notes, *unchecked]:
        print(f"note: {note}", file=sys.stderr)
    b = settings.blackout
    if b.file is not None:  # the news file is part of the configuration: checked, its windows shown
        try:
            shown["blackout_windows"] = describe(load_news(b.file, b.minutes_before, b.minutes_after).events)
        except NewsFileError as exc:
            raise ConfigError(file_problems(exc)) from None
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


if TYPE_CHECKING:
    from trading.config import Settings

SYMBOL_CHECK_TIMEOUT_S = 15.0


def configured_symbols(settings: Settings) -> dict[str, list[str]]:
    """Symbol -> the enabled strategies that trade it."""
    out: dict[str, list[str]] = {}
    for name in type(settings.strategies).model_fields:
        section = getattr(settings.strategies, name)
        if getattr(section, "enabled", False):
            for sym in getattr(section, "symbols", ()):
                out.setdefault(sym.strip().upper(), []).append(name)
    return out


async def symbol_problems(settings: Settings) -> tuple[list[str], list[str]]:
    """Symbols of enabled strategies the gateway does not list (problems), and why they could not be
    checked (notes). Paper mode asks the built-in simulator's catalogue (what `run --paper` trades),
    live mode the configured gateway when it answers within SYMBOL_CHECK_TIMEOUT_S."""
    import asyncio
    import contextlib

    from trading.marketdata.backfill import Login
    from trading.projectx.errors import AmbiguousContract, ContractNotFound, ProjectXError
    from trading.projectx.rest import ProjectXClient
    from trading.sim.gateway import SimGateway
    from trading.sim.options import SimOptions

    wanted = configured_symbols(settings)
    if not wanted:
        return [], []
    async with contextlib.AsyncExitStack() as stack:
        if settings.app.mode == "paper":
            sim = SimGateway(settings.sim.model_copy(update={"port": 0}), options=SimOptions(market_mode="manual"))
            await sim.start(port=0)
            stack.push_async_callback(sim.stop)
            login, where = Login(sim.base_url, sim.username, sim.api_key), "the simulator"
        else:
            px = settings.projectx
            login, where = Login(px.base_url, px.username, px.api_key.get_secret_value()), px.base_url
        client = ProjectXClient(
            settings.projectx, base_url=login.base_url, username=login.username, api_key=login.api_key
        )
        problems: list[str] = []
        try:
            async with asyncio.timeout(SYMBOL_CHECK_TIMEOUT_S), client as gateway:
                await gateway.login()
                for sym, strategies in sorted(wanted.items()):
                    try:
                        await gateway.front_month(sym)
                    except ContractNotFound:
                        problems.append(f"strategies.{strategies[0]}.symbols: {sym} is not a contract {where} lists")
                    except AmbiguousContract as exc:
                        problems.append(f"strategies.{strategies[0]}.symbols: {exc}")
        except (ProjectXError, OSError, TimeoutError) as exc:
            return [], [f"symbols not checked: {where} did not answer ({type(exc).__name__}: {exc})"]
    return problems, []


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
