"""Backtest: one year of synthetic 1-minute bars for two symbols (MNQ + MES, tests/support/
scenario_days.random_walk_year) through the overnight range, its Python implementation against its
Rust one (`impl`), the median of `runs` runs each, in the same process.

What "rust" is here: the whole backtest loop in Rust (trading/backtest/native.py, rust_ext/src/backtest/
run.rs): days, fills, ledger, the Rust strategy and, for the default `[risk]` profile, risk. The other
rows are the Rust strategy in the Python loop (`native=False`): skipping in Rust the bars that change
nothing (skip.py), and replaying every bar (the strategy swap alone). Every row must write the same
--json.
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


def _times(impl: str, bars: dict, runs: int, **loop: bool) -> tuple[list[float], str]:  # type: ignore[type-arg]
    config = OvernightRangeSettings(symbols=("MNQ", "MES"))
    out, text = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        result = run_backtest(lambda ctx: OvernightRange(config, ctx), bars, START, END, impl=impl, **loop)
        out.append(time.perf_counter() - t0)
        text = json_text(result)
    return out, text


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def run(quick: bool = False) -> Section:
    runs = 3
    bars = random_walk_year(["MNQ", "MES"], START, END)
    n = sum(len(a.ts) for a in bars.values())
    runs_rs = 5 if quick else 9  # the Rust loop is short: more runs for a steadier median
    py, py_json = _times("python", bars, runs)
    rs, rs_json = _times("rust", bars, runs_rs)
    sk, sk_json = _times("rust", bars, runs, native=False)
    full, full_json = _times("rust", bars, 1 if quick else runs, native=False, skip=False)
    p, r, k, f = (statistics.median(x) for x in (py, rs, sk, full))
    ratio = p / r
    head = f"{'what':<38} {'goal':>10} {'figure':>12} {'verdict':>8}"
    same = py_json == rs_json == sk_json == full_json
    rows = [
        ("python impl, median wall", "", fmt(p * 1e9), ""),
        ("rust strategy, python loop, every bar", "", fmt(f * 1e9), ""),
        ("rust strategy, python loop, skipping", "", fmt(k * 1e9), ""),
        ("rust loop, median wall", f"<= {GOAL_S:.2f} s", fmt(r * 1e9), _verdict(r <= GOAL_S)),
        ("speed-up python / rust loop", f">= {GOAL_RATIO:.0f}x", f"{ratio:.2f}x", _verdict(ratio >= GOAL_RATIO)),
        ("same --json, byte for byte", "yes", "yes" if same else "NO", _verdict(same)),
    ]
    lines = [
        f"\n## backtest: {n} one-minute bars, MNQ+MES, {START}..{END}, median of {runs} runs",
        head,
        "-" * len(head),
    ]
    lines += [f"{a:<38} {b:>10} {c:>12} {d:>8}" for a, b, c, d in rows]
    lines.append(
        "runs (s): python " + ", ".join(f"{t:.3f}" for t in py) + "; rust loop " + ", ".join(f"{t:.3f}" for t in rs)
    )
    lines.append(
        "(rust loop: days, fills, ledger, strategy and risk in Rust; the Python runs are the rust loop's "
        "baseline in this run)"
    )
    goals = [
        Goal("backtest, one year MNQ+MES, rust loop", f"≤ {GOAL_S:.2f} s", Figure(tuple(rs), "s"), r <= GOAL_S,
             baseline=f"python impl {p:.2f} s in the same run", note="" if same else "the two --json differ"),
        Goal("backtest speed-up python / rust loop", f"≥ {GOAL_RATIO:.0f}×", Figure((ratio,), "×"),
             ratio >= GOAL_RATIO),
    ]  # fmt: skip
    return Section("backtest", ["\n".join(lines)], goals)
