"""Backtest: one year of synthetic 1-minute bars for two symbols (MNQ + MES, tests/support/
scenario_days.random_walk_year) through the overnight range, its Python implementation against its
Rust one (`impl`), the median of `runs` runs each, in the same process.

What "rust" is here: the Rust strategy, and the loop skipping in Rust every bar that changes nothing
(trading/backtest/skip.py, rust_ext/src/backtest/); the bars it cannot rule out, and all fills, the
ledger and risk, stay `trading/backtest` (Python), which is why the --json is the same by construction.
The "every bar replayed" row is the Rust strategy without the skip (the strategy swap alone).
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


def _times(impl: str, bars: dict, runs: int, skip: bool = True) -> tuple[list[float], str]:  # type: ignore[type-arg]
    config = OvernightRangeSettings(symbols=("MNQ", "MES"))
    out, text = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        result = run_backtest(lambda ctx: OvernightRange(config, ctx), bars, START, END, impl=impl, skip=skip)
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
    full, full_json = _times("rust", bars, 1 if quick else runs, skip=False)
    p, r, f = statistics.median(py), statistics.median(rs), statistics.median(full)
    ratio = p / r
    head = f"{'what':<34} {'goal':>10} {'figure':>12} {'verdict':>8}"
    same = py_json == rs_json == full_json
    rows = [
        ("python impl, median wall", "", fmt(p * 1e9), ""),
        ("rust strategy, every bar replayed", "", fmt(f * 1e9), ""),
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
        "runs (s): python " + ", ".join(f"{t:.3f}" for t in py) + "; rust " + ", ".join(f"{t:.3f}" for t in rs)
    )
    lines.append("(rust: the Rust strategy, no-op bars skipped in Rust; fills, ledger and risk stay the Python loop's)")
    goals = [
        Goal("backtest, one year MNQ+MES, rust impl", f"≤ {GOAL_S:.2f} s", Figure(tuple(rs), "s"), r <= GOAL_S,
             baseline=f"python impl {p:.2f} s in the same run", note="" if same else "the two --json differ"),
        Goal("backtest speed-up python / rust", f"≥ {GOAL_RATIO:.0f}×", Figure((ratio,), "×"), ratio >= GOAL_RATIO),
    ]  # fmt: skip
    return Section("backtest", ["\n".join(lines)], goals)
