"""Backtest: one year of synthetic 1-minute bars for two symbols (MNQ + MES, tests/support/
scenario_days.random_walk_year) through the overnight range, its Python implementation against its
Rust one (`impl`), the median of `runs` runs each, in the same process.

What "rust" is here: the backtest loop, fills, ledger and risk are `trading/backtest` (Python) for
both rows; only the strategy differs. The issue's goal (<= 0.15 s and >= 10x) is for a backtester
whose loop is Rust too; this table shows where the strategy swap alone stands against it.
"""

from __future__ import annotations

import statistics
import time
from datetime import date

from bench.goals import Figure, Goal, Section
from bench.stats import fmt
from tests.support.parity import json_text
from tests.support.scenario_days import random_walk_year
from trading.backtest.runner import run_backtest
from trading.config import OvernightRangeSettings
from trading.strategies.overnight_range import OvernightRange

START, END = date(2025, 1, 1), date(2025, 12, 31)
GOAL_S, GOAL_RATIO = 0.15, 10.0


def _times(impl: str, bars: dict, runs: int) -> tuple[list[float], str]:  # type: ignore[type-arg]
    config = OvernightRangeSettings(symbols=("MNQ", "MES"))
    out, text = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        result = run_backtest(lambda ctx: OvernightRange(config, ctx), bars, START, END, impl=impl)
        out.append(time.perf_counter() - t0)
        text = json_text(result)
    return out, text


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def run(quick: bool = False) -> Section:
    runs = 3
    bars = random_walk_year(["MNQ", "MES"], START, END)
    n = sum(len(a.ts) for a in bars.values())
    py, py_json = _times("python", bars, runs)
    rs, rs_json = _times("rust", bars, runs)
    p, r = statistics.median(py), statistics.median(rs)
    ratio = p / r
    head = f"{'what':<34} {'goal':>10} {'figure':>12} {'verdict':>8}"
    same = py_json == rs_json
    rows = [
        ("python impl, median wall", "", fmt(p * 1e9), ""),
        ("rust impl, median wall", f"<= {GOAL_S:.2f} s", fmt(r * 1e9), _verdict(r <= GOAL_S)),
        ("speed-up python / rust", f">= {GOAL_RATIO:.0f}x", f"{ratio:.2f}x", _verdict(ratio >= GOAL_RATIO)),
        ("same --json, byte for byte", "yes", "yes" if same else "NO", _verdict(same)),
    ]
    lines = [
        f"\n## backtest: {n} one-minute bars, MNQ+MES, {START}..{END}, median of {runs} runs",
        head,
        "-" * len(head),
    ]
    lines += [f"{a:<34} {b:>10} {c:>12} {d:>8}" for a, b, c, d in rows]
    lines.append(
        "runs (s): python " + ", ".join(f"{t:.2f}" for t in py) + "; rust " + ", ".join(f"{t:.2f}" for t in rs)
    )
    lines.append("(both rows: the Python backtest loop, fills and ledger; only the strategy's implementation differs)")
    goals = [
        Goal("backtest, one year MNQ+MES, rust impl", f"≤ {GOAL_S:.2f} s", Figure(tuple(rs), "s"), r <= GOAL_S,
             baseline=f"python impl {p:.2f} s in the same run", note="" if same else "the two --json differ"),
        Goal("backtest speed-up python / rust", f"≥ {GOAL_RATIO:.0f}×", Figure((ratio,), "×"), ratio >= GOAL_RATIO),
    ]  # fmt: skip
    return Section("backtest", ["\n".join(lines)], goals)
