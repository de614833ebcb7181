"""bench/sdk.py's goal rows: paired per repetition, the verdict on the bot's order path only."""

from __future__ import annotations

from bench.interleave import Rep
from bench.sdk import PYTHON, RUST, goals, unavailable

SDK = "project-x-py 4.4.1"


def test_ratios_are_paired_per_repetition_and_only_our_path_gets_a_verdict() -> None:
    reps = {
        RUST: [Rep(1.0e6, 2e6, 3.0e6), Rep(2.0e6, 3e6, 4.0e6)],
        PYTHON: [Rep(4.0e6, 5e6, 9.0e6), Rep(4.0e6, 5e6, 9.0e6)],
        SDK: [Rep(6.0e6, 8e6, 9.0e6), Rep(12.0e6, 14e6, 16.0e6)],
    }
    rows = {g.name: g for g in goals(reps, SDK, RUST, "1 1 1")}
    p50 = rows[f"vs {SDK}: place+cancel, {RUST}, p50"]
    assert p50.figure.values == (6.0, 6.0) and p50.verdict == "met"
    p99 = rows[f"vs {SDK}: place+cancel, {RUST}, p99"]
    assert p99.figure.values == (3.0, 4.0) and p99.verdict == "MISSED"
    assert {rows[f"vs {SDK}: place+cancel, {PYTHON}, {q}"].verdict for q in ("p50", "p99")} == {"n/a"}


def test_without_the_sdk_the_goal_rows_say_why() -> None:
    section = unavailable("SDK not installable", "pip could not reach PyPI")
    assert [g.verdict for g in section.goals] == ["n/a", "n/a"]
    assert all("n/a: SDK not installable" in g.remarks and "PyPI" in g.remarks for g in section.goals)
    assert all(g.figure.text() == "n/a" for g in section.goals)


def test_our_rows_name_the_ceiling_the_simulator_floor_sets() -> None:
    from bench.sdk import FLOOR

    reps = {
        RUST: [Rep(1.0e6, 2e6, 3.0e6), Rep(1.0e6, 2e6, 3.0e6)],
        SDK: [Rep(4.0e6, 8e6, 9.0e6), Rep(4.0e6, 8e6, 9.0e6)],
        FLOOR: [Rep(0.8e6, 1e6, 1.5e6), Rep(1.0e6, 1e6, 1.5e6)],
    }
    rows = {g.name: g for g in goals(reps, SDK, RUST, "1 1 1")}
    p50 = rows[f"vs {SDK}: place+cancel, {RUST}, p50"]
    assert "floor itself is 4.50× faster than the SDK (below the goal: out of reach" in p50.remarks
    p99 = rows[f"vs {SDK}: place+cancel, {RUST}, p99"]
    assert "floor itself is 6.00× faster than the SDK; load" in p99.remarks
