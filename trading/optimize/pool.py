"""Runs parameter sets through `run_backtest`, in parallel over the cores.

Each worker process receives the job (bars, contracts, settings) once, when it starts (the pool's
initializer), and then only parameter sets: the bars are never sent with a task. One run per set covers
the whole range; the walk-forward windows are scored from its trades (choice: the account runs on
through the windows as it would live, rather than restarting at each window's first day; the
strategies keep no state from one day to the next, so the trades are the same either way, and one run
instead of one per window is what makes a thousand sets affordable).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from typing import Any

from trading.backtest.runner import IMPLS, Schedule, run_backtest
from trading.config import BacktestSettings, OvernightRangeSettings, RiskSettings, StrategiesSettings
from trading.domain import Contract
from trading.marketdata.aggregation import BarArrays
from trading.optimize.metrics import Score, in_span, score
from trading.strategies import STRATEGIES, create

Progress = Callable[[int, int], None]


def impls() -> tuple[str, ...] | None:
    """The backtester implementations `run_backtest` offers through an `impl` keyword; None when it has
    one implementation only (then `--impl` is refused)."""
    if "impl" not in inspect.signature(run_backtest).parameters:
        return None
    return IMPLS


@dataclass(frozen=True, slots=True)
class Job:
    """Everything every run shares."""

    strategy: str
    strategies: StrategiesSettings  # the searched section is replaced per set
    bars: Mapping[str, BarArrays]
    contracts: Mapping[str, Contract]
    risk: RiskSettings
    backtest: BacktestSettings
    start: date
    end: date
    spans: tuple[tuple[date, date], ...] = ()  # scored besides the whole range (walk-forward spans)
    impl: str | None = None  # forwarded to run_backtest when given

    def settings_with(self, params: Mapping[str, Any]) -> StrategiesSettings:
        cls = STRATEGIES[self.strategy]
        section = cls.config_from({**getattr(self.strategies, self.strategy).model_dump(), **params})
        return self.strategies.model_copy(update={self.strategy: section})


@dataclass(frozen=True, slots=True)
class Evaluation:
    whole: Score
    spans: tuple[Score, ...]


def schedule_for(s: OvernightRangeSettings) -> Schedule:
    """The session times a backtest fires, from the overnight-range settings (as `tradebot backtest`
    takes them), so a searched `last_entry_time` or `flatten` moves the events too."""
    return Schedule(s.pre_open, s.last_entry_time, s.summary, s.flatten, s.flatten_minutes_before_close)


def evaluate(job: Job, params: Mapping[str, Any]) -> Evaluation:
    strategies = job.settings_with(params)
    extra: dict[str, Any] = {} if job.impl is None else {"impl": job.impl}
    result = run_backtest(
        lambda ctx: create(job.strategy, strategies, ctx),
        job.bars,
        job.start,
        job.end,
        risk=job.risk,
        settings=job.backtest,
        contracts=job.contracts,
        schedule=schedule_for(strategies.overnight_range),  # the session times live there
        **extra,
    )
    whole = score(result.trades, result.max_drawdown)
    return Evaluation(whole, tuple(score(in_span(result.trades, a, b)) for a, b in job.spans))


_JOB: Job | None = None  # the worker's job, set once by the pool's initializer


def _start_worker(job: Job) -> None:
    global _JOB
    _JOB = job


def _task(index: int, params: Mapping[str, Any]) -> tuple[int, Evaluation]:
    assert _JOB is not None, "the worker was started without its job"
    return index, evaluate(_JOB, params)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(
    job: Job, sets: Sequence[Mapping[str, Any]], jobs: int, progress: Progress | None = None
) -> list[Evaluation]:
    """Every set's evaluation, in the order of `sets`; `jobs` worker processes (1: in this process)."""
    out: list[Evaluation | None] = [None] * len(sets)
    if jobs <= 1 or len(sets) <= 1:
        for i, p in enumerate(sets):
            out[i] = evaluate(job, p)
            if progress is not None:
                progress(i + 1, len(sets))
        return [e for e in out if e is not None]
    done = 0
    with ProcessPoolExecutor(max_workers=min(jobs, len(sets)), initializer=_start_worker, initargs=(job,)) as pool:
        # A few tasks queued per worker, not all of them: an interrupt leaves little to cancel.
        pending: set[Future[tuple[int, Evaluation]]] = set()
        todo = iter(enumerate(sets))
        for i, p in todo:
            pending.add(pool.submit(_task, i, p))
            if len(pending) >= 4 * jobs:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                i, e = f.result()
                out[i] = e
                done += 1
                if progress is not None:
                    progress(done, len(sets))
                nxt = next(todo, None)
                if nxt is not None:
                    pending.add(pool.submit(_task, *nxt))
    return [e for e in out if e is not None]
