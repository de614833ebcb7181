"""A benchmark goal and its verdict, from figures measured in the same run.

Every section returns its tables (text) and its goals; `python -m bench` prints each goal as
goal / figure / verdict and writes them, with the machine and the command, into BENCHMARKS.md."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured quantity over repetitions (each value from one repetition)."""

    values: tuple[float, ...]
    unit: str  # "rows/s", "µs", "×"

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> str:
        return f"{_num(min(self.values))}..{_num(max(self.values))}"

    def text(self) -> str:
        return f"{_num(self.median)} {self.unit} (median of {len(self.values)}; {self.spread})"


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
        return "n/a" if self.met is None else ("met" if self.met else "MISSED")

    def line(self) -> str:
        extra = "; ".join(x for x in (self.baseline, self.note) if x)
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
    if x != x:
        return "n/a"
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
