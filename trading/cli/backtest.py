"""`tradebot backtest …`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trading.cli.common import Subcommands, load, migrated_database, on_terminal, run

if TYPE_CHECKING:  # start-up: the parser is built without the domain types
    from pathlib import Path

    from trading.config import BacktestSettings, Settings
    from trading.domain import Contract

HISTORY_PAD = timedelta(days=40)  # ATRD needs 15 sessions before the first day
MIDNIGHT = time(0, 0)
ONE_DAY = timedelta(days=1)


async def contract_for(store: Any, symbol: str) -> Contract:
    """The store's active contract for `symbol`, else the offline backtest table's."""
    from trading.backtest.runner import BACKTEST_CONTRACTS

    found = await store.contracts.by_symbol(symbol)
    if found:
        return found[0]  # type: ignore[no-any-return]
    if symbol not in BACKTEST_CONTRACTS:
        raise SystemExit(f"error: unknown symbol {symbol!r} (known offline: {', '.join(BACKTEST_CONTRACTS)})")
    return BACKTEST_CONTRACTS[symbol]


async def _bars_from_store(args: argparse.Namespace, symbols: list[str], start: date, end: date) -> tuple[Any, Any]:
    from trading.backtest.bars_csv import arrays_from_bars
    from trading.backtest.runner import BACKTEST_CONTRACTS
    from trading.calendar import ny
    from trading.domain import Bar
    from trading.marketdata.continuous import continuous
    from trading.store import Store

    bars: dict[str, Any] = {}
    contracts = dict(BACKTEST_CONTRACTS)
    async with migrated_database(load(args)) as db:
        store = Store(db.pool)
        for sym in symbols:
            c = await contract_for(store, sym)
            contracts[sym] = c
            # every month of the symbol: imported history and a later backfill's contract make one series
            months = await store.bars.range_of_symbol(
                sym, "1m", ny(start - HISTORY_PAD, MIDNIGHT), ny(end + ONE_DAY, MIDNIGHT)
            )
            rows = continuous(months)
            renamed = (Bar(sym, b.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume) for b in rows)
            bars.update(arrays_from_bars(renamed))
    return bars, contracts


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2025-06-11") from None


def _writable(option: str, text: str, formats: tuple[str, ...] = ()) -> Path:
    """`text` as an output path this process can write (tried by creating it; a file made for the try goes
    again), in one of `formats` (its suffix) when given; else a ValueError that says why."""
    from pathlib import Path

    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{option} {text!r} is a folder: give a file name")
    if formats and path.suffix.lower().lstrip(".") not in formats:
        raise ValueError(f"{option} {text!r}: the file name must end in {', '.join('.' + f for f in formats)}")
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise ValueError(f"{option} {text!r} cannot be written ({exc.strerror or exc})") from None
    if not existed:
        path.unlink()
    return path


def _chart_formats() -> tuple[str, ...]:
    from matplotlib.figure import Figure

    return tuple(Figure().canvas.get_supported_filetypes())


def _problem_with(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, found before any bar is read; None when nothing is."""
    from trading.backtest.bar_checks import zone
    from trading.strategies import STRATEGIES

    if args.strategy not in STRATEGIES:
        return f"unknown strategy {args.strategy!r}; known: {', '.join(sorted(STRATEGIES))}"
    try:
        if _day("--to", args.date_to) < _day("--from", args.date_from):
            return "--to is before --from"
        if args.json:
            _writable("--json", args.json)
        if args.chart:
            _writable("--chart", args.chart, _chart_formats())
        if args.tz:
            zone(args.tz)
    except ValueError as exc:
        return str(exc)
    if args.tz and not args.bars:
        return "--tz is for the timestamps of a --bars file: give --bars FILE.csv, or leave --tz out"
    if args.symbol is not None and not all(s.strip() for s in args.symbol):
        return "--symbol is empty: give a contract root such as MNQ"
    return None


def costs(args: argparse.Namespace, settings: Settings) -> BacktestSettings:
    """`[backtest]` with the --fees and --slippage-ticks asked (`tradebot optimize` takes them too)."""
    update: dict[str, Any] = {}
    if args.fees is not None:
        update["fees_per_contract_side"] = args.fees
    if args.slippage_ticks is not None:
        update["slippage_ticks"] = args.slippage_ticks
    return settings.backtest.model_copy(update=update)


def _backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trading.backtest.bars_csv import load_csv
    from trading.backtest.runner import BACKTEST_CONTRACTS, Backtest, Schedule, default_impl, with_impl
    from trading.strategies import create

    problem = _problem_with(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = load(args)
    start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    section = getattr(settings.strategies, args.strategy)
    symbols = [s.strip().upper() for s in args.symbol] if args.symbol else [s.upper() for s in section.symbols]
    strategies = settings.strategies.model_copy(
        update={args.strategy: section.model_copy(update={"symbols": tuple(symbols)})}
    )
    if args.bars:
        try:
            bars = {s: a for s, a in load_csv(args.bars, args.tz).items() if s in symbols}
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        contracts = dict(BACKTEST_CONTRACTS)
    else:
        bars, contracts = run(_bars_from_store(args, symbols, start, end))
    unknown = [s for s in symbols if s not in contracts]
    if unknown:
        print(
            f"error: no contract spec for {', '.join(unknown)} (offline: {', '.join(BACKTEST_CONTRACTS)})",
            file=sys.stderr,
        )
        return 2
    missing = [s for s in symbols if s not in bars or len(bars[s].ts) == 0]
    if missing:
        where = (
            f"in {args.bars}"
            if args.bars
            else "in the store: load them with `tradebot bars import FILE.csv` or `tradebot bars backfill --symbol "
            f"{missing[0]}`"
        )
        print(f"error: no 1-minute bars for {', '.join(missing)} {where}", file=sys.stderr)
        return 1
    orc = settings.strategies.overnight_range
    schedule = Schedule(orc.pre_open, orc.last_entry_time, orc.summary, orc.flatten, orc.flatten_minutes_before_close)
    bt = Backtest(
        with_impl(lambda ctx: create(args.strategy, strategies, ctx), args.impl or default_impl(args.strategy)),
        bars,
        risk=settings.risk,
        settings=costs(args, settings),
        contracts=contracts,
        schedule=schedule,
    )
    with tqdm(
        total=0, unit="day", desc=f"{args.strategy} {'+'.join(symbols)}", file=sys.stderr, disable=not on_terminal()
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = bt.run(start, end, progress)
    from trading.backtest.report import report, result_lines, trade_lines

    s = result.summary()
    rep = report(result)
    fees = bt.ledger.fees_per_side
    print(
        f"{s['strategy']} {'+'.join(symbols)} {s['from']} to {s['to']}: {s['trades']} trades, "
        f"net P&L {s['net_pnl']} (fees {s['fees']}), win rate {s['win_rate']:.1%}, max drawdown {s['max_drawdown']}"
    )
    print(
        f"fills: fees ${fees} per contract per side, slippage {bt.rules.slippage_ticks} ticks on stop and market fills"
    )
    print()
    for line in trade_lines(result, contracts):
        print(line)
    print()
    for line in result_lines(rep):
        print(line)
    if args.json:
        import json
        from pathlib import Path

        Path(args.json).write_text(json.dumps({**result.to_json(), "report": rep}, indent=2, default=str))
        print(f"wrote {args.json}")
    if args.chart:
        result.chart(args.chart)
        print(f"wrote {args.chart}")
    return 0


def _fees(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in dollars, e.g. 0.37") from None
    if not value.is_finite() or value < 0 or value > 1000:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1000 dollars")
    return value


def _ticks(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ticks") from None
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1000 ticks")
    return value


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay 1-minute bars through a strategy and risk",
        description="Replay 1-minute bars (from --bars CSV or the store) through a strategy, with the spec's fill "
        "conventions. Prints trades, P&L, win rate and max drawdown.",
    )
    p.add_argument("--strategy", default="overnight_range", help="strategy name (default overnight_range)")
    p.add_argument("--symbol", action="append", help="symbol, any case (repeatable); default: the strategy's symbols")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first trading day")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last trading day")
    p.add_argument(
        "--bars",
        metavar="FILE.csv",
        help="CSV symbol,ts,open,high,low,close,volume (ts ISO-8601 with its offset), "
        "checked as `tradebot bars import` checks it",
    )
    p.add_argument("--tz", metavar="ZONE", help="with --bars: the time zone of timestamps written without one")
    p.add_argument(
        "--fees",
        type=_fees,
        metavar="USD",
        help="fees per contract per side (default backtest.fees_per_contract_side, 0 as the strategy spec's "
        "checks assume; the simulator charges 0.37 on micros)",
    )
    p.add_argument(
        "--slippage-ticks",
        type=_ticks,
        metavar="N",
        help="ticks worse on every stop and market fill (default backtest.slippage_ticks, 0)",
    )
    p.add_argument(
        "--impl",
        choices=("python", "rust"),
        help="the strategy's implementation (default: rust, with the backtest loop in Rust, for a strategy that has "
        "one and a build with the extension; else strategies.<name>.impl); a Python-only strategy ignores it",
    )
    p.add_argument("--json", metavar="OUT.json", help="write every order, fill, trade and per-day levels")
    p.add_argument("--chart", metavar="OUT.png", help="write the equity curve")
    p.set_defaults(fn=_backtest)
