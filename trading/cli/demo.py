"""`tradebot demo`: one simulated trading day end to end (see trading/demo/day.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from trading.cli.common import Subcommands, load, run


async def _demo(args: argparse.Namespace) -> int:
    from trading.demo.day import run_demo

    settings = load(args)
    out = _out_dir(args, settings.app.data_dir)
    result = await run_demo(settings, out, seed=args.seed, followers=args.followers)
    print()
    print(f"database: {result.database}")
    print(f"rows: {result.orders} orders, {result.fills} fills, {result.notifications} notifications")
    for chart in result.charts:
        print(f"chart: {chart}")
    print(f"order paths measured: {', '.join(result.paths)}")
    print(f"demo wall time: {result.wall_s:.1f} s")
    return 0


def _out_dir(args: argparse.Namespace, data_dir: Path) -> Path:
    out = Path(args.out).expanduser() if args.out else data_dir.expanduser() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    return out


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "demo",
        help="run a whole simulated trading day (overnight range, open, fills, flatten, summary) in seconds",
        description="Start the database (embedded unless database.url is set) and the simulated gateway "
        "in-process, generate weeks of seeded history, then run one trading day of the overnight-range "
        "strategy on a simulated clock: range card and chart, both entries with brackets, a fill over the "
        "user hub, breakeven, flatten, daily summary with the latency table. Prints where everything is.",
    )
    p.add_argument("--seed", type=int, default=7, help="market seed (default 7)")
    p.add_argument("--out", metavar="DIR", help="where charts go (default: app.data_dir/demo)")
    p.add_argument(
        "--followers", type=int, default=2, choices=range(6), metavar="N",
        help="accounts mirroring the demo's account in copy mode, at 1x, 2x, ... its size (default 2; 0: none)",
    )  # fmt: skip
    p.set_defaults(fn=_main)


def _main(args: argparse.Namespace) -> int:
    _log(args)
    return run(_demo(args))


def _log(args: argparse.Namespace) -> None:
    from trading.cli.logs import configure
    from trading.cli.verbosity import verbosity

    configure("WARNING", verbosity(args))  # -v: the engine's INFO lines
