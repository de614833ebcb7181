"""`tradebot bars import FILE.csv` and `tradebot bars backfill --symbol MNQ --days 30`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trading.cli.backtest import contract_for
from trading.cli.common import Subcommands, load, migrated_database, on_terminal, run

if TYPE_CHECKING:
    from trading.config import Settings

IMPORT_BATCH = 50_000
EXIT_USAGE = 2  # a bad file or argument: nothing stored


def _missing_credentials(settings: Settings) -> str | None:
    from trading.config import missing_credentials

    missing = missing_credentials(settings)
    if not missing:
        return None
    return (
        f"backfilling from the gateway needs {' and '.join(missing)} (set TRADEBOT_PROJECTX__USERNAME and "
        "TRADEBOT_PROJECTX__API_KEY in .env); use --sim or --sim-url to backfill from the simulator"
    )


def _backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trading.calendar import to_ny
    from trading.clock import LiveClock
    from trading.marketdata.backfill import BackfillError, Login, backfill, in_process_sim, problem_with

    settings = load(args)
    problem = problem_with(args.symbol, args.days)
    if problem is None and not (args.sim or args.sim_url):
        problem = _missing_credentials(settings)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    symbol = args.symbol.strip().upper()
    shown = on_terminal()

    async def main() -> int:
        fetching = tqdm(total=0, unit="request", desc=f"fetch {symbol}", file=sys.stderr, disable=not shown)
        storing: list[tqdm[Any]] = []  # opened when the fetch is done

        def fetched(done: int, total: int, bars: int) -> None:
            fetching.total = total
            fetching.update(done - fetching.n)
            fetching.set_postfix(bars=bars)

        def stored(done: int, total: int) -> None:
            if not storing:
                fetching.close()
                storing.append(
                    tqdm(total=total, unit="bar", desc=f"store {symbol}", file=sys.stderr, disable=not shown)
                )
            storing[0].update(done - storing[0].n)

        async def go(login: Login) -> int:
            now = LiveClock().now()
            try:
                done = await backfill(
                    settings, login, symbol, args.days, now, fetch_progress=fetched, store_progress=stored
                )
            except BackfillError as exc:
                failed: BackfillError | None = exc
            else:
                failed = None
            fetching.close()
            for bar in storing:
                bar.close()
            if failed is not None:
                print(f"error: {failed}", file=sys.stderr)
                return failed.exit_code
            print(
                f"{symbol}: stored {done.bars} 1-minute bars of {done.contract.id} "
                f"from {to_ny(done.start):%Y-%m-%d %H:%M} ET to {to_ny(done.end):%Y-%m-%d %H:%M} ET into {done.where}"
            )
            return 0

        if args.sim:
            async with in_process_sim(settings, symbol, args.days) as login:
                return await go(login)
        if args.sim_url:
            sim = settings.sim
            return await go(Login(args.sim_url.rstrip("/"), sim.username, sim.api_key.get_secret_value()))
        px = settings.projectx
        return await go(Login(px.base_url, px.username, px.api_key.get_secret_value()))

    return run(main())


async def import_csv(args: argparse.Namespace) -> int:
    """Check every row first (nothing opened on a bad file), then store all of it in one transaction."""
    from tqdm import tqdm

    from trading.backtest.bars_csv import load_csv
    from trading.store import Store

    try:
        arrays = load_csv(args.file, args.tz)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    total = sum(len(a.ts) for a in arrays.values())
    async with migrated_database(load(args)) as db:
        store = Store(db.pool)
        contracts = {sym: await contract_for(store, sym) for sym in arrays}
        with tqdm(total=total, unit="bar", desc="import", file=sys.stderr, disable=not on_terminal()) as bar:
            async with store.transaction() as tx:
                for sym, a in arrays.items():
                    c = contracts[sym]
                    if not await tx.contracts.get(c.id):
                        await tx.contracts.upsert(c)
                    for lo in range(0, len(a.ts), IMPORT_BATCH):
                        hi = min(lo + IMPORT_BATCH, len(a.ts))
                        await tx.bars.insert_arrays(
                            c.id, "1m", a.ts[lo:hi], a.open[lo:hi], a.high[lo:hi], a.low[lo:hi],
                            a.close[lo:hi], a.volume[lo:hi],
                        )  # fmt: skip
                        bar.update(hi - lo)
        print(f"imported {total} bars ({', '.join(f'{s}: {len(a.ts)}' for s, a in arrays.items())}) into {db.where}")
    return 0


def register(sub: Subcommands) -> None:
    bars = sub.add_parser(
        "bars",
        help="bar data: import a CSV, backfill from the gateway",
        description="Fill the store with 1-minute bars.",
    )
    group = bars.add_subparsers(dest="bars_command", required=True, metavar="COMMAND")
    imp = group.add_parser(
        "import",
        help="load a CSV of 1-minute bars into the store",
        description="Load symbol,ts,open,high,low,close,volume (a header line first; ts ISO-8601 with its "
        "offset, e.g. 2025-06-11T13:30:00Z) into the store; existing bars are replaced. Every row is checked "
        "first (time zone, whole minutes, numbers, low <= open, close <= high, volume a whole number >= 0): "
        "any bad row is reported with its line and nothing is stored.",
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument(
        "--tz", metavar="ZONE", help="the time zone of timestamps written without one, e.g. America/New_York "
        "(without --tz such a timestamp is refused)",
    )  # fmt: skip
    imp.set_defaults(fn=lambda args: run(import_csv(args)))
    fill = group.add_parser(
        "backfill",
        help="fetch the last days of 1-minute bars from the gateway into the store",
        description="Fetch 1-minute bars of the symbol's front-month contract for the last --days from the "
        "configured gateway (or the simulator) and store them; bars already stored are replaced, so "
        "running it again is safe.",
    )
    fill.add_argument("--symbol", required=True, help="contract root, e.g. MNQ, MES, NQ, ES")
    fill.add_argument("--days", type=int, default=30, help="how many days back from now (default 30)")
    source = fill.add_mutually_exclusive_group()
    source.add_argument("--sim", action="store_true", help="from an in-process simulator (seeded random history)")
    source.add_argument("--sim-url", metavar="URL", help="from a running simulator (tradebot sim)")
    fill.set_defaults(fn=_backfill)
