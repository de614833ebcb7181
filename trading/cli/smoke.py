"""`tradebot smoke`: check the bot against a practice account (or the simulator), every read action and,
with --orders, one order far from the market placed, modified and cancelled on each order path.

tradebot smoke                          # the configured gateway ([projectx]), read actions only
tradebot smoke --orders --json-out smoke.json
tradebot smoke --sim --orders           # an in-process simulator
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from trading.cli.common import EXIT_CONFIG, EXIT_FAILED, Subcommands, load, run

if TYPE_CHECKING:
    from trading.config import Settings
    from trading.smoke import SmokeOptions, SmokeReport

EXIT_REFUSED = 3  # a funded or live account without --force


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "smoke",
        help="run every read action (and with --orders one far-away order per path) against a practice account",
        description="Log in to the configured gateway (or the simulator with --sim), run every read action "
        "and, with --orders, place, modify and cancel one buy limit far below the market on each order path "
        "(Rust, Python), then cancel or close anything the run opened. Prints each step's time, the success "
        "rate, and writes a JSON report with --json-out. Refuses funded and live accounts unless --force. "
        "Exit 0 when every step passed, 1 when one failed.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--sim", action="store_true", help="start an in-process simulator and run against it")
    where.add_argument("--sim-url", metavar="URL", help="a running simulator (tradebot sim), logged into with [sim]")
    p.add_argument("--orders", action="store_true", help="also place, modify and cancel one order on each path")
    p.add_argument("--force", action="store_true", help="run on a funded or live account anyway")
    p.add_argument("--symbol", default="MNQ", help="the contract root orders and bars use (default MNQ)")
    p.add_argument("--account", type=int, metavar="ID", help="this account id instead of the configured one")
    p.add_argument("--distance-pct", default="10", metavar="PCT",
                   help="how far below the last price the buy limit rests (default 10)")  # fmt: skip
    p.add_argument("--json-out", metavar="PATH", help="write the JSON report here")
    p.set_defaults(fn=_smoke)


def _options(args: argparse.Namespace, settings: Settings) -> SmokeOptions | str:
    from trading.smoke import SmokeOptions

    try:
        distance = Decimal(args.distance_pct)
    except InvalidOperation:
        return f"--distance-pct must be a number, got {args.distance_pct!r}"
    if not Decimal("0.5") <= distance <= Decimal(90):
        return f"--distance-pct must be between 0.5 and 90, got {args.distance_pct}"
    if args.json_out and not Path(args.json_out).expanduser().parent.is_dir():
        return f"--json-out: no directory {Path(args.json_out).expanduser().parent}"
    symbol = args.symbol.strip().upper()
    if not symbol.isalnum():
        return f"--symbol must be a contract root like MNQ, got {args.symbol!r}"
    return SmokeOptions(
        orders=args.orders, force=args.force, symbol=symbol, account_id=args.account, distance_pct=distance,
        profiles_path=settings.risk.profiles_path,
    )  # fmt: skip


def _smoke(args: argparse.Namespace) -> int:
    from trading.cli.run import live_without_credentials

    settings = load(args)
    options = _options(args, settings)
    if isinstance(options, str):
        print(f"error: {options}", file=sys.stderr)
        return EXIT_CONFIG
    if not (args.sim or args.sim_url):
        problem = live_without_credentials(settings)
        if problem:
            problem = problem.replace("live mode", "smoke against the gateway")
            print(f"error: {problem} (or smoke --sim)", file=sys.stderr)
            return EXIT_CONFIG
    from trading.smoke import NoSuchAccount, SmokeRefused

    try:
        report = run(_run(settings, args, options))
    except SmokeRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except NoSuchAccount as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(report.table())
    if args.json_out:
        import json

        Path(args.json_out).expanduser().write_text(json.dumps(report.as_json(), indent=2) + "\n")
        print(f"report: {args.json_out}")
    return 0 if report.ok else EXIT_FAILED


async def _run(settings: Settings, args: argparse.Namespace, options: SmokeOptions) -> SmokeReport:
    import contextlib

    from trading.engine.setup import live_gateway, sim_gateway, sim_url_gateway
    from trading.projectx.rest import ProjectXClient
    from trading.sim.gateway import SimGateway
    from trading.sim.options import SimOptions
    from trading.smoke import run_smoke

    async with contextlib.AsyncExitStack() as stack:
        if args.sim:
            # A random market with two days of history: bars to price from; no session gate, so a weekend
            # run places its orders too.
            sim = SimGateway(settings.sim, options=SimOptions(market_mode="random", warmup_days=2.0))
            await sim.start(port=0)
            stack.push_async_callback(sim.stop)
            gateway = sim_gateway(sim)
        elif args.sim_url:
            gateway = sim_url_gateway(settings, args.sim_url)
        else:
            gateway = live_gateway(settings)
        client = ProjectXClient(
            settings.projectx, base_url=gateway.base_url, username=gateway.username, api_key=gateway.api_key
        )
        await stack.enter_async_context(client)
        return await run_smoke(client, gateway, options)
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack does not swallow
