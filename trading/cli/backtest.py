"""`tradebot backtest …`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any

from trading.cli.common import Subcommands, load, run

if TYPE_CHECKING:  # start-up: the parser is built without the domain types
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
    from trading.store import Store, open_database

    bars: dict[str, Any] = {}
    contracts = dict(BACKTEST_CONTRACTS)
    async with await open_database(load(args)) as db:
        store = Store(db.pool)
        for sym in symbols:
            c = await contract_for(store, sym)
            contracts[sym] = c
            rows = await store.bars.range(c.id, "1m", ny(start - HISTORY_PAD, MIDNIGHT), ny(end + ONE_DAY, MIDNIGHT))
            renamed = (Bar(sym, b.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume) for b in rows)
            bars.update(arrays_from_bars(renamed))
    return bars, contracts


def _backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trading.backtest.bars_csv import load_csv
    from trading.backtest.runner import BACKTEST_CONTRACTS, Backtest, Schedule
    from trading.strategies import STRATEGIES, create

    settings = load(args)
    if args.strategy not in STRATEGIES:
        print(f"error: unknown strategy {args.strategy!r}; known: {', '.join(sorted(STRATEGIES))}", file=sys.stderr)
        return 2
    start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    if end < start:
        print("error: --to is before --from", file=sys.stderr)
        return 2
    section = getattr(settings.strategies, args.strategy)
    symbols = list(args.symbol or section.symbols)
    strategies = settings.strategies.model_copy(
        update={args.strategy: section.model_copy(update={"symbols": tuple(symbols)})}
    )
    if args.bars:
        try:
            bars = {s: a for s, a in load_csv(args.bars).items() if s in symbols}
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
        print(f"error: no 1-minute bars for {', '.join(missing)}", file=sys.stderr)
        return 1
    orc = settings.strategies.overnight_range
    schedule = Schedule(orc.pre_open, orc.last_entry_time, orc.summary, orc.flatten, orc.flatten_minutes_before_close)
    bt = Backtest(
        lambda ctx: create(args.strategy, strategies, ctx),
        bars,
        risk=settings.risk,
        settings=settings.backtest,
        contracts=contracts,
        schedule=schedule,
    )
    with tqdm(total=0, unit="day", desc=f"{args.strategy} {'+'.join(symbols)}", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = bt.run(start, end, progress)
    s = result.summary()
    print(
        f"{s['strategy']} {'+'.join(symbols)} {s['from']} to {s['to']}: {s['trades']} trades, "
        f"net P&L {s['net_pnl']} (fees {s['fees']}), win rate {s['win_rate']:.1%}, max drawdown {s['max_drawdown']}"
    )
    if args.json:
        import json
        from pathlib import Path

        Path(args.json).write_text(json.dumps(result.to_json(), indent=2, default=str))
        print(f"wrote {args.json}")
    if args.chart:
        result.chart(args.chart)
        print(f"wrote {args.chart}")
    return 0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay 1-minute bars through a strategy and risk",
        description="Replay 1-minute bars (from --bars CSV or the store) through a strategy, with the spec's fill "
        "conventions. Prints trades, P&L, win rate and max drawdown.",
    )
    p.add_argument("--strategy", default="overnight_range", help="strategy name (default overnight_range)")
    p.add_argument("--symbol", action="append", help="symbol (repeatable); default: the strategy's symbols")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first trading day")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last trading day")
    p.add_argument("--bars", metavar="FILE.csv", help="CSV symbol,ts,open,high,low,close,volume (ts ISO-8601 UTC)")
    p.add_argument("--json", metavar="OUT.json", help="write every order, fill, trade and per-day levels")
    p.add_argument("--chart", metavar="OUT.png", help="write the equity curve")
    p.set_defaults(fn=_backtest)
