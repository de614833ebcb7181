"""Which run writes BENCHMARKS.md, and what its page says it ran."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import ON_REQUEST, PAGE, SECTIONS, markdown, page_for, scope
from bench.goals import Figure, Goal, Section


def test_a_full_run_writes_the_page() -> None:
    assert page_for(list(SECTIONS), quick=False, out=None) == PAGE
    assert page_for([*SECTIONS, *ON_REQUEST], quick=False, out=None) == PAGE
    assert scope(list(SECTIONS), quick=False).startswith("full run: ")


def test_a_partial_or_quick_run_leaves_the_page_alone() -> None:
    assert page_for(["orders", "sdk"], quick=False, out=None) is None
    assert page_for(list(SECTIONS), quick=True, out=None) is None
    assert page_for(["accounts"], quick=False, out=None) is None


def test_a_partial_page_says_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "partial.md"
    assert page_for(["sdk"], quick=True, out=str(out)) == out
    ran = scope(["sdk"], quick=True)
    assert ran.startswith("PARTIAL run")
    assert "sections sdk" in ran and "not run: bars, bars_pg" in ran and "--quick" in ran
    g = Goal("rust added", "≤ 50 µs", Figure((-487.0,), "µs"), True)
    page = markdown("python -m bench sdk --quick", {"cores": "2"}, [Section("s", ["## t"], [g])], "1 1 1", ran)
    assert f"- {ran}" in page
    assert "| invalid | rust added |" in page
    assert "## t" in page
