"""`tradebot optimize …`: a grid or random search over a strategy's parameters, with walk-forward windows.

A thin face: the space, the windows, the parallel runs, the ranking and the heatmap live in
`trading/optimize/`. Options shared with `tradebot backtest` (--strategy, --symbol, --from, --to, --bars,
--tz, --fees, --slippage-ticks, --json, --chart) mean the same here and are checked by the same code.
Everything is checked before the first run: a bad space, month or path ends the command with one line
and exit 2, nothing run and nothing written.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trading.cli.backtest import _chart_formats, _day, _fees, _ticks, _writable, costs
from trading.cli.common import Subcommands, load, on_terminal, run

if TYPE_CHECKING:
    from trading.optimize.space import Space
    from trading.optimize.windows import Window

DEFAULT_STRATEGY = "overnight_range"
DEFAULT_SAMPLES = 100
DEFAULT_SEED = 1
MAX_GRID = 100_000  # sets of a grid search (a random search samples any grid)


def _positive(what: str, most: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{text!r} must be between 1 and {most:,} {what}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


class _Plan:
    """What the arguments ask for, checked: built before any bar is read."""

    def __init__(self, args: argparse.Namespace) -> None:
        from trading.optimize import space as sp
        from trading.optimize.heatmap import axes
        from trading.optimize.pool import impls
        from trading.optimize.windows import parse, windows
        from trading.strategies import STRATEGIES

        file_strategy, specs = sp.read_file(args.space) if args.space else (None, {})
        self.strategy: str = args.strategy or file_strategy or DEFAULT_STRATEGY
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; known: {', '.join(sorted(STRATEGIES))}")
        if file_strategy is not None and args.strategy and args.strategy != file_strategy:
            raise ValueError(f"--space {args.space!r} is for {file_strategy}, not --strategy {args.strategy}")
        specs = dict(specs)
        for flag in args.param or []:
            name, spec = sp.parse_flag(flag)
            specs[name] = spec  # a flag overrides the file's range for that parameter
        self.settings = load(args)
        self.seed: int | None = None  # a random search's
        cls = STRATEGIES[self.strategy]
        model = cls.config_type()
        self.base: dict[str, Any] = getattr(self.settings.strategies, self.strategy).model_dump()
        self.space: Space = sp.build(specs, model)
        if args.search == "grid":
            if args.samples is not None or args.seed is not None:
                raise ValueError("--samples and --seed are for --search random; a grid runs every set")
            if self.space.size > MAX_GRID:
                raise ValueError(
                    f"the grid has {self.space.size:,} sets (at most {MAX_GRID:,}): narrow it, or sample it with "
                    "--search random --samples N"
                )
            self.sets = list(self.space.grid())
        else:
            self.seed = DEFAULT_SEED if args.seed is None else args.seed
            self.sets = self.space.sample(args.samples or DEFAULT_SAMPLES, self.seed)
        sp.check_points(self.sets, model, self.base)
        self.start, self.end = _day("--from", args.date_from), _day("--to", args.date_to)
        if self.end < self.start:
            raise ValueError("--to is before --from")
        self.windows: list[Window] = []
        if args.walk_forward:
            self.windows = windows(self.start, self.end, *parse(args.walk_forward))
        self.heatmap: tuple[str, str] | None = None
        if args.chart:
            _writable("--chart", args.chart, _chart_formats())
            self.heatmap = axes(self.space, args.heatmap)
        elif args.heatmap:
            raise ValueError("--heatmap names the axes of the --chart picture: give --chart OUT.png too")
        if args.json:
            _writable("--json", args.json)
        if args.tz:
            from trading.backtest.bar_checks import zone

            zone(args.tz)
            if not args.bars:
                raise ValueError("--tz is for the timestamps of a --bars file: give --bars FILE.csv, or leave --tz out")
        offered = impls()
        if args.impl is not None and offered is None:
            raise ValueError("--impl: this backtester has one implementation (python); leave --impl out")
        if args.impl is not None and offered is not None and args.impl not in offered:
            raise ValueError(f"--impl {args.impl!r}: one of {', '.join(offered)}")
        if args.symbol is not None and not all(s.strip() for s in args.symbol):
            raise ValueError("--symbol is empty: give a contract root such as MNQ")
        section = getattr(self.settings.strategies, self.strategy)
        self.symbols = [s.strip().upper() for s in args.symbol] if args.symbol else [s.upper() for s in section.symbols]


def _bars(args: argparse.Namespace, plan: _Plan) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """The bars and contracts of the symbols, or what is missing."""
    from trading.backtest.bars_csv import load_csv
    from trading.backtest.runner import BACKTEST_CONTRACTS
    from trading.cli.backtest import _bars_from_store

    if args.bars:
        bars = {s: a for s, a in load_csv(args.bars, args.tz).items() if s in plan.symbols}
        contracts = dict(BACKTEST_CONTRACTS)
    else:
        bars, contracts = run(_bars_from_store(args, plan.symbols, plan.start, plan.end))
    unknown = [s for s in plan.symbols if s not in contracts]
    if unknown:
        return f"no contract spec for {', '.join(unknown)} (offline: {', '.join(BACKTEST_CONTRACTS)})"
    missing = [s for s in plan.symbols if s not in bars or len(bars[s].ts) == 0]
    if missing:
        where = f"in {args.bars}" if args.bars else "in the store: load them with `tradebot bars import FILE.csv`"
        return f"no 1-minute bars for {', '.join(missing)} {where}"
    return bars, contracts


def _optimize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trading.optimize.space import SpaceError
    from trading.optimize.windows import WindowError

    try:
        plan = _Plan(args)
    except (SpaceError, WindowError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        found = _bars(args, plan)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if isinstance(found, str):
        print(f"error: {found}", file=sys.stderr)
        return 1
    bars, contracts = found

    from trading.backtest.runner import default_impl
    from trading.optimize.pool import Job, cores
    from trading.optimize.search import optimize

    settings = plan.settings
    section = getattr(settings.strategies, plan.strategy).model_copy(update={"symbols": tuple(plan.symbols)})
    job = Job(
        strategy=plan.strategy,
        strategies=settings.strategies.model_copy(update={plan.strategy: section}),
        bars=bars,
        contracts=contracts,
        risk=settings.risk,
        backtest=costs(args, settings),
        start=plan.start,
        end=plan.end,
        impl=args.impl or default_impl(plan.strategy),
    )
    jobs = args.jobs or cores()
    with tqdm(total=len(plan.sets), unit="set", desc=f"{plan.strategy} {'+'.join(plan.symbols)}", file=sys.stderr,
              disable=not on_terminal()) as bar:  # fmt: skip

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        outcome = optimize(job, plan.sets, args.metric, plan.windows, jobs, progress)
    _print(args, plan, outcome, jobs)
    return 0


def _print(args: argparse.Namespace, plan: _Plan, outcome: Any, jobs: int) -> None:
    from trading.optimize import table
    from trading.optimize.metrics import METRICS

    kind = "grid" if args.search == "grid" else f"random sample (seed {plan.seed})"
    print(
        f"{plan.strategy} {'+'.join(plan.symbols)} {plan.start} to {plan.end}: {len(plan.sets)} parameter sets "
        f"({kind} of {plan.space.size:,}), {jobs} workers, ranked by {METRICS[args.metric]}"
    )
    best = outcome.evaluations[outcome.order[0]].whole
    from trading.optimize.search import label

    print(f"best: {label(outcome.sets[outcome.order[0]])}: {table.best_value(best, args.metric)}")
    print()
    for line in table.result_lines(outcome, plan.space.names, args.top):
        print(line)
    if outcome.walk_forward is not None:
        print()
        print(
            f"walk-forward {args.walk_forward} (months in sample : out of sample), rolled by the out-of-sample months"
        )
        for line in table.walk_forward_lines(outcome.walk_forward, outcome.sets, args.metric):
            print(line)
    if args.json:
        import json
        from pathlib import Path

        head = {
            "strategy": plan.strategy,
            "symbols": plan.symbols,
            "from": str(plan.start),
            "to": str(plan.end),
            "search": args.search,
            "seed": plan.seed,
            "sets": len(plan.sets),
            "space_size": plan.space.size,
            "metric": args.metric,
            "walk_forward": args.walk_forward,
        }
        Path(args.json).write_text(json.dumps(table.as_json(outcome, head), indent=2))
        print(f"wrote {args.json}")
    if args.chart and plan.heatmap is not None:
        from trading.optimize.heatmap import write

        x, y = plan.heatmap
        title = f"{plan.strategy} {'+'.join(plan.symbols)} {plan.start} to {plan.end}: {METRICS[args.metric]}"
        write(args.chart, outcome, plan.space, x, y, args.metric, title)
        print(f"wrote {args.chart}")


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "optimize",
        help="search a strategy's parameters over past bars, with walk-forward windows",
        description="Backtest every parameter set of a grid (or a seeded random sample of it) over 1-minute bars, "
        "in parallel, and rank the sets by a metric; with --walk-forward, pick the best set in each in-sample "
        "window and show how it did in the out-of-sample window after it.",
    )
    p.add_argument("--strategy", help=f"strategy name (default: the space file's, else {DEFAULT_STRATEGY})")
    p.add_argument("--symbol", action="append", help="symbol, any case (repeatable); default: the strategy's symbols")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first trading day")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last trading day")
    p.add_argument("--bars", metavar="FILE.csv", help="CSV of 1-minute bars as `tradebot backtest` reads it; "
                   "default: the store")  # fmt: skip
    p.add_argument("--tz", metavar="ZONE", help="with --bars: the time zone of timestamps written without one")
    p.add_argument("--space", metavar="FILE.toml", help="the parameters and their values or ranges "
                   "(config/optimize/overnight_range.toml is an example)")  # fmt: skip
    p.add_argument("--param", action="append", metavar="NAME=MIN:MAX:STEP|NAME=V1,V2",
                   help="a parameter to search (repeatable; overrides the same name in --space)")  # fmt: skip
    p.add_argument("--search", choices=("grid", "random"), default="grid", help="every set (default) or a sample")
    p.add_argument("--samples", type=_positive("sets", MAX_GRID), metavar="N",
                   help=f"with --search random: how many sets (default {DEFAULT_SAMPLES})")  # fmt: skip
    p.add_argument("--seed", type=_seed, metavar="S", help=f"with --search random: the seed (default {DEFAULT_SEED})")
    p.add_argument("--walk-forward", metavar="IS:OOS", help="months in sample : months out of sample, e.g. 6:1")
    p.add_argument("--metric", choices=("net", "pf", "dd", "ratio"), default="net",
                   help="rank by net P&L (default), profit factor, max drawdown (lowest first) or net P&L / max "
                   "drawdown")  # fmt: skip
    p.add_argument(
        "--jobs", type=_positive("processes", 256), metavar="N", help="worker processes (default: the cores)"
    )
    p.add_argument("--top", type=_positive("rows", 1_000_000), default=20, metavar="N",
                   help="rows of the printed table (default 20; --json has every set)")  # fmt: skip
    p.add_argument("--impl", metavar="rust|python", help="the backtester implementation, where there are two")
    p.add_argument("--fees", type=_fees, metavar="USD", help="fees per contract per side (as `tradebot backtest`)")
    p.add_argument("--slippage-ticks", type=_ticks, metavar="N", help="ticks worse on stop and market fills")
    p.add_argument("--json", metavar="OUT.json", help="write every set's score, ranked, and the walk-forward")
    p.add_argument("--chart", metavar="OUT.png", help="write the heatmap of the metric over two parameters")
    p.add_argument("--heatmap", metavar="A,B", help="the heatmap's parameters, A across and B up (default: the "
                   "space's first two)")  # fmt: skip
    p.set_defaults(fn=_optimize)
