"""Backtest speed: one year of synthetic 1-minute bars for two symbols, median of a few runs.

    .venv/bin/python -m tests.backtest_speed [runs]

Not a test (no timing thresholds in the suite); the number goes in the issue note and the README.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date

from tests.support.scenario_days import random_walk_year
from trading.backtest.runner import Backtest
from trading.config import OvernightRangeSettings
from trading.strategies.overnight_range import OvernightRange

START, END = date(2025, 1, 1), date(2025, 12, 31)


def main(runs: int = 5) -> None:
    bars = random_walk_year(["MNQ", "MES"], START, END)
    n = sum(len(a.ts) for a in bars.values())
    config = OvernightRangeSettings(symbols=("MNQ", "MES"))
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = Backtest(lambda ctx: OvernightRange(config, ctx), bars).run(START, END)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"{n} one-minute bars (MNQ+MES, {START}..{END} plus 40 days of warm-up), {runs} runs")
    print("wall: " + ", ".join(f"{t:.2f}s" for t in times) + "; cpu: " + ", ".join(f"{t:.2f}s" for t in cpu))
    print(f"median wall {statistics.median(times):.2f}s, cpu {statistics.median(cpu):.2f}s")
    print(f"{len(result.trades)} trades, {len(result.days)} symbol-days")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
