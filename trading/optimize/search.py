"""A search from start to end: the sets to try, their runs, the ranking, and the walk-forward verdict.

Walk-forward: in each window the set that ranks first in sample (by the chosen metric) is the choice,
and its out-of-sample score is what the choice would have earned. The summary adds the out-of-sample
net P&L of the choices, the in-sample net P&L of the same choices, and their efficiency: out-of-sample
net per trading day / in-sample net per trading day (1 holds up fully, 0 earns nothing, below 0 loses),
with the count of windows whose choice made money out of sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from trading.calendar import trading_days
from trading.optimize.metrics import Metric, Score, ranked
from trading.optimize.pool import Evaluation, Job, Progress, run_all
from trading.optimize.space import text
from trading.optimize.windows import Window


@dataclass(frozen=True, slots=True)
class Pick:
    window: Window
    index: int  # the set chosen in sample
    in_sample: Score
    out_of_sample: Score


@dataclass(frozen=True, slots=True)
class WalkForward:
    picks: tuple[Pick, ...]
    is_days: int
    oos_days: int

    @property
    def oos_net(self) -> Decimal:
        return sum((p.out_of_sample.net for p in self.picks), Decimal(0))

    @property
    def is_net(self) -> Decimal:
        return sum((p.in_sample.net for p in self.picks), Decimal(0))

    @property
    def efficiency(self) -> Decimal | None:
        """OOS net per trading day / IS net per trading day; None when the in-sample choices made nothing."""
        if self.is_net <= 0 or not self.oos_days or not self.is_days:
            return None
        return (self.oos_net / self.oos_days) / (self.is_net / self.is_days)

    @property
    def oos_profitable(self) -> int:
        return sum(1 for p in self.picks if p.out_of_sample.net > 0)

    def summary(self) -> dict[str, Any]:
        eff = self.efficiency
        return {
            "windows": len(self.picks),
            "oos_net_pnl": str(self.oos_net),
            "is_net_pnl": str(self.is_net),
            "efficiency": None if eff is None else str(eff.quantize(Decimal("0.0001"))),
            "oos_profitable_windows": self.oos_profitable,
            "oos_trades": sum(p.out_of_sample.trades for p in self.picks),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    sets: tuple[Mapping[str, Any], ...]
    evaluations: tuple[Evaluation, ...]
    order: tuple[int, ...]  # indexes of `sets`, best first over the whole range
    walk_forward: WalkForward | None

    @property
    def scores(self) -> list[Score]:
        return [e.whole for e in self.evaluations]


def walk_forward(windows: Sequence[Window], evaluations: Sequence[Evaluation], metric: Metric) -> WalkForward:
    picks = []
    for w, window in enumerate(windows):
        is_scores = [e.spans[2 * w] for e in evaluations]
        best = ranked(is_scores, metric)[0]
        picks.append(Pick(window, best, is_scores[best], evaluations[best].spans[2 * w + 1]))
    is_days = sum(len(trading_days(w.is_start, w.is_end)) for w in windows)
    oos_days = sum(len(trading_days(w.oos_start, w.oos_end)) for w in windows)
    return WalkForward(tuple(picks), is_days, oos_days)


def spans_of(windows: Sequence[Window]) -> tuple[tuple[Any, Any], ...]:
    """The spans a run scores for `walk_forward`: each window's in-sample span, then its out-of-sample one."""
    return tuple(s for w in windows for s in ((w.is_start, w.is_end), (w.oos_start, w.oos_end)))


def optimize(
    job: Job,
    sets: Sequence[Mapping[str, Any]],
    metric: Metric,
    windows: Sequence[Window] = (),
    jobs: int = 1,
    progress: Progress | None = None,
) -> Outcome:
    job = replace(job, spans=spans_of(windows))
    evaluations = run_all(job, sets, jobs, progress)
    order = ranked([e.whole for e in evaluations], metric)
    wf = walk_forward(windows, evaluations, metric) if windows else None
    return Outcome(tuple(sets), tuple(evaluations), tuple(order), wf)


def label(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={text(v)}" for k, v in params.items())


def most_chosen(wf: WalkForward, sets: Sequence[Mapping[str, Any]]) -> tuple[str, int]:
    """The set chosen in the most windows (the earliest on a tie) and how often."""
    counts = Counter(p.index for p in wf.picks)
    index, n = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))
    return label(sets[index]), n
