"""bench/goals.py's verdicts: a verdict stands only on a figure that can be right."""

from __future__ import annotations

import math

import pytest

from bench.goals import Figure, Goal, at_least, at_most


def goal(values: tuple[float, ...], unit: str = "µs", met: bool | None = True, signed: bool = False) -> Goal:
    return Goal("g", "≤ 50 µs", Figure(values, unit, signed=signed), met, baseline="floor 1 ms", note="n")


def test_met_and_missed_on_sound_figures() -> None:
    assert goal((10.0, 12.0, 11.0)).verdict == "met"
    assert goal((90.0, 80.0, 85.0), met=False).verdict == "MISSED"
    assert goal((10.0,), met=None).verdict == "n/a"


def test_a_negative_cost_is_invalid_not_met() -> None:
    """The pinned orders row of the 07:44 run: rust 'added' -487 µs over the floor, called met."""
    values = (-487.0, -1528.0, -139.0, -600.0, -300.0)
    g = Goal("orders, pinned: rust added over the raw-socket floor, p50", "≤ 50 µs", Figure(values, "µs"),
             at_most(values, 50.0))  # fmt: skip
    assert g.met is True  # what the comparison alone says
    assert g.verdict == "invalid"
    assert "negative cost" in g.remarks and "-487" in g.remarks
    assert g.line().startswith("[invalid]")


def test_a_negative_cost_that_misses_is_invalid_too() -> None:
    assert goal((-5.0, -6.0, -4.0), met=False).verdict == "invalid"


@pytest.mark.parametrize("unit", ["ns", "ms", "s"])
def test_every_time_unit_is_a_cost(unit: str) -> None:
    assert "negative cost" in goal((-1.0,), unit=unit).remarks


def test_a_negative_ratio_or_rate_is_invalid() -> None:
    g = goal((-3.0, -2.0, 4.0), unit="×")
    assert g.verdict == "invalid" and "negative figure" in g.remarks
    assert goal((-1.0,), unit="rows/s").verdict == "invalid"


def test_one_negative_repetition_under_a_positive_median_keeps_its_verdict() -> None:
    assert goal((-2.0, 3.0, 4.0)).verdict == "met"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_finite_is_invalid(bad: float) -> None:
    g = goal((10.0, bad, 11.0), unit="×")
    assert g.verdict == "invalid"
    assert "1 of 3 values not finite" in g.remarks


def test_no_values_is_invalid() -> None:
    assert goal((), met=False).verdict == "invalid"


def test_a_signed_figure_may_be_negative() -> None:
    assert goal((-3.0, -2.0, -4.0), signed=True).verdict == "met"


def test_no_verdict_stays_no_verdict() -> None:
    """A row without a verdict (information, or the contender could not run) is not made 'invalid'."""
    g = Goal("vs sdk", "≥ 5×", Figure((math.nan,), "×"), None, note="n/a: SDK not installable")
    assert g.verdict == "n/a"
    assert g.figure.text() == "n/a"
    assert g.remarks == "n/a: SDK not installable"


def test_remarks_carry_baseline_and_note_after_the_reason() -> None:
    assert goal((1.0,)).remarks == "floor 1 ms; n"
    assert goal((-1.0,)).remarks.endswith("; floor 1 ms; n")


def test_bounds_compare_the_median() -> None:
    assert at_least([1.0, 6.0, 7.0], 5.0)
    assert not at_most([1.0, 60.0, 70.0], 50.0)
