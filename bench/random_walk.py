"""`python -m bench.random_walk OUT.csv [--symbol MNQ] [--from 2025-01-01] [--to 2025-12-31] [--seed 7]`:
write the synthetic 1-minute bars the benchmarks use (a random walk on every Globex minute, 40 days of
warm-up before --from) as a bar CSV that `tradebot backtest --bars` and `tradebot optimize --bars` read.
The README's optimizer example and its heatmap are made from it."""

from __future__ import annotations

import argparse
from datetime import date

from tests.support.scenario_days import random_walk_year
from trading.backtest.bars_csv import write_csv


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.random_walk")
    ap.add_argument("out", metavar="OUT.csv")
    ap.add_argument("--symbol", action="append", help="repeatable (default MNQ)")
    ap.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2025, 12, 31))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    bars = random_walk_year([s.upper() for s in args.symbol or ["MNQ"]], args.start, args.end, seed=args.seed)
    write_csv(args.out, bars)
    print(f"wrote {args.out}: {sum(len(a.ts) for a in bars.values()):,} bars")


if __name__ == "__main__":
    main()
