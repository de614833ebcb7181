"""A benchmark goal and its verdict, from figures measured in the same run.

Every section returns its tables (text) and its goals; `python -m bench` prints each goal as
goal / figure / verdict and writes them, with the machine and the command, into BENCHMARKS.md.

A verdict stands on a figure only when the figure can be what it claims: a cost (a time) below zero,
or a value that is not finite, is a broken measurement (a baseline that was not the floor, two
spans that do not nest), and "met" on it would be a lie: such a goal's verdict is "invalid", with
the reason."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

TIME_UNITS = frozenset({"ns", "µs", "ms", "s"})


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured quantity over repetitions (each value from one repetition)."""

    values: tuple[float, ...]
    unit: str  # "rows/s", "µs", "×"
    signed: bool = False  # True: the quantity may be below zero (a difference that can go either way)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> str:
        return f"{_num(min(self.values))}..{_num(max(self.values))}"

    def text(self) -> str:
        if not self.values or all(math.isnan(v) for v in self.values):
            return "n/a"
        return f"{_num(self.median)} {self.unit} (median of {len(self.values)}; {self.spread})"

    def problem(self) -> str:
        """Why no verdict can stand on this figure; "" when one can. Times (costs), rates and ratios
        cannot be below zero; a median below zero means the measurement, not the code, is wrong."""
        if not self.values:
            return "no values measured"
        odd = sum(not math.isfinite(v) for v in self.values)
        if odd:
            return f"{odd} of {len(self.values)} values not finite"
        if not self.signed and self.median < 0:
            what = "cost" if self.unit in TIME_UNITS else "figure"
            return f"a negative {what} ({_num(self.median)} {self.unit}) is a broken measurement, not a goal met"
        return ""


@dataclass(frozen=True, slots=True)
class Goal:
    name: str
    goal: str  # what is asked, e.g. "≥ 500k rows/s"
    figure: Figure
    met: bool | None  # None: reported, no verdict (information, or the contender could not run)
    baseline: str = ""  # "1.9× the old path (…)": the ratio to its baseline, measured in the same run
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "n/a"
        if self.figure.problem():
            return "invalid"
        return "met" if self.met else "MISSED"

    @property
    def remarks(self) -> str:
        """The reason of an invalid verdict, the baseline, the note."""
        why = self.figure.problem() if self.verdict == "invalid" else ""
        return "; ".join(x for x in (why and f"invalid: {why}", self.baseline, self.note) if x)

    def line(self) -> str:
        extra = self.remarks
        return f"[{self.verdict:>6}] {self.name}: goal {self.goal}; figure {self.figure.text()}" + (
            f"; {extra}" if extra else ""
        )


@dataclass
class Section:
    title: str
    tables: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)


def at_least(values: Sequence[float], bound: float) -> bool:
    return statistics.median(values) >= bound


def at_most(values: Sequence[float], bound: float) -> bool:
    return statistics.median(values) <= bound


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else str(x)
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 1e4:
        return f"{x / 1e3:.0f}k"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"
