"""Optimizer benchmark (issue 15's goal): 1,000 parameter sets of the overnight-range strategy over one year
of 1-minute bars of one symbol, in as many worker processes as there are cores, ≤ 60 s wall.

Each backtester implementation `run_backtest` offers is timed, the Rust loop first (what `tradebot
optimize` uses by default: trading/backtest/native.py). The first implementation runs all 1,000 sets;
another (slower) one runs a sample of them and its time is scaled to 1,000, and the line says so. With `--quick` every
implementation runs a sample and is scaled. The bars are the synthetic random walk of
`tests/backtest_speed.py` (the same year, seed and generator).
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from datetime import date

from bench.goals import Figure, Goal, Section
from tests.support.scenario_days import random_walk_year
from trading.config import BacktestSettings, OvernightRangeSettings, RiskSettings, StrategiesSettings
from trading.optimize.pool import Job, cores, impls
from trading.optimize.search import optimize
from trading.optimize.space import build

START, END = date(2025, 1, 1), date(2025, 12, 31)
SYMBOL = "MNQ"
SETS = 1000
SAMPLE = 40  # sets timed for a scaled figure
GOAL_S = 60.0
SPACE = {  # 51 x 36 x 8 = 14,688 points; 1,000 drawn with a fixed seed
    "stop_atr_mult": {"min": "0.5", "max": "3.0", "step": "0.05"},
    "target_atrd_mult": {"min": "0.5", "max": "4.0", "step": "0.1"},
    "breakeven_points": {"min": 5, "max": 40, "step": 5},
}


@dataclass(frozen=True, slots=True)
class Row:
    impl: str
    sets: int
    wall_s: float
    cpu_s: float  # this process and its workers: what the runs cost whatever else the machine is doing

    @property
    def per_1000_s(self) -> float:
        return self.wall_s * SETS / self.sets


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run(quick: bool = False) -> Section:
    bars = random_walk_year([SYMBOL], START, END)
    strategies = StrategiesSettings(overnight_range=OvernightRangeSettings(symbols=(SYMBOL,)))
    space = build(SPACE, OvernightRangeSettings)
    sets = space.sample(SETS, seed=1)
    workers = cores()
    offered = impls()
    rows: list[Row] = []
    order = sorted(offered, key=lambda i: i != "rust") if offered else ["python"]  # the Rust loop first
    for k, impl in enumerate(order):
        job = Job("overnight_range", strategies, bars, {}, RiskSettings(), BacktestSettings(), START, END,
                  impl=impl if offered else None)  # fmt: skip
        n = SAMPLE if quick or k > 0 else SETS
        if k == 0 and not quick:
            optimize(job, sets[:workers], "net", jobs=workers)  # warm-up: imports and calendars in the workers
        t0, c0 = time.perf_counter(), _cpu()
        optimize(job, sets[:n], "net", jobs=workers)  # the pool's workers are joined (counted) on return
        rows.append(Row(impl, n, time.perf_counter() - t0, _cpu() - c0))
    bars_n = len(bars[SYMBOL].ts)
    lines = [
        f"## optimize: {SETS:,} parameter sets of overnight_range over {START.year} of {SYMBOL} "
        f"({bars_n:,} one-minute bars), {workers} worker processes; goal ≤ {GOAL_S:.0f} s",
        f"{'impl':<8} {'sets run':>8} {'wall':>9} {'cpu':>9} {'cpu/set':>9} {'1,000 sets':>12}  verdict",
    ]
    for r in rows:
        scaled = "" if r.sets == SETS else f" (scaled from {r.sets})"
        verdict = (
            f"meets the goal ({GOAL_S / r.per_1000_s:.1f}x under)"
            if r.per_1000_s <= GOAL_S
            else f"misses the goal ({r.per_1000_s / GOAL_S:.1f}x over)"
        )
        lines.append(
            f"{r.impl:<8} {r.sets:>8} {r.wall_s:>8.1f}s {r.cpu_s:>8.1f}s {r.cpu_s / r.sets:>8.3f}s "
            f"{r.per_1000_s:>11.1f}s  "
            f"{verdict}{scaled}"
        )
    lines.append(
        "wall is the goal's measure; cpu is the runs' own cost (on a machine shared with other work, wall "
        f"exceeds cpu / {workers})"
    )
    if len(rows) > 1:
        lines.append(f"ratio {rows[1].impl} / {rows[0].impl} per set: {rows[1].per_1000_s / rows[0].per_1000_s:.1f}x")
    goals = [
        Goal(f"optimize: {SETS:,} parameter sets, {r.impl} impl, wall", f"≤ {GOAL_S:.0f} s",
             Figure((r.per_1000_s,), "s"), r.per_1000_s <= GOAL_S,
             baseline=f"cpu {r.cpu_s:.1f} s over {workers} workers",
             note="" if r.sets == SETS else f"scaled from {r.sets} sets")
        for r in rows
    ]  # fmt: skip
    return Section("optimize", ["\n".join(lines)], goals)
