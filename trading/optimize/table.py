"""What `tradebot optimize` prints and writes: the ranked sets, the walk-forward windows (dates are New
York trading days) with their summary, and the same as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from trading.backtest.report import _table
from trading.domain import money_text
from trading.optimize.metrics import METRICS, Metric, Score
from trading.optimize.search import Outcome, WalkForward, label, most_chosen
from trading.optimize.space import text


def _pf(s: Score) -> str:
    if not s.trades:
        return "—"
    return "inf" if s.profit_factor is None else f"{s.profit_factor:.2f}"


def _ratio(s: Score) -> str:
    r = s.ratio
    return "inf" if r is None else f"{r:.2f}"


def _score_cells(s: Score) -> list[str]:
    return [str(s.trades), money_text(s.net), _pf(s), money_text(s.max_drawdown), _ratio(s)]


SCORE_HEADERS = ["trades", "net P&L", "profit factor", "max drawdown", "net/dd"]


def result_lines(outcome: Outcome, names: Sequence[str], top: int) -> list[str]:
    """The best `top` sets, one row each: rank, the parameters, the score."""
    rows = []
    for rank, i in enumerate(outcome.order[:top], start=1):
        p = outcome.sets[i]
        rows.append([str(rank), *(text(p[n]) for n in names), *_score_cells(outcome.evaluations[i].whole)])
    return _table(["#", *names, *SCORE_HEADERS], rows, right_from=1)


def walk_forward_lines(wf: WalkForward, sets: Sequence[Mapping[str, Any]], metric: Metric) -> list[str]:
    rows = []
    for p in wf.picks:
        w = p.window
        rows.append([
            f"{w.is_start}..{w.is_end}", f"{w.oos_start}..{w.oos_end}", label(sets[p.index]),
            money_text(p.in_sample.net), str(p.in_sample.trades),
            money_text(p.out_of_sample.net), str(p.out_of_sample.trades), _pf(p.out_of_sample),
            money_text(p.out_of_sample.max_drawdown),
        ])  # fmt: skip
    headers = [
        "in sample (ET days)", "out of sample", f"best in sample by {METRICS[metric]}", "IS net", "IS trades",
        "OOS net", "OOS trades", "OOS pf", "OOS max dd",
    ]  # fmt: skip
    lines = _table(headers, rows, right_from=3)
    eff = wf.efficiency
    shown = "— (the in-sample choices made no money)" if eff is None else f"{eff:.2f}"
    chosen, n = most_chosen(wf, sets)
    lines += [
        "",
        f"out of sample: {money_text(wf.oos_net)} over {len(wf.picks)} windows ({wf.oos_days} trading days), "
        f"profitable in {wf.oos_profitable} of {len(wf.picks)}",
        f"in sample (same choices): {money_text(wf.is_net)} over {wf.is_days} trading days",
        f"efficiency (OOS net per day / IS net per day): {shown}",
        f"most chosen: {chosen} ({n} of {len(wf.picks)} windows)",
    ]
    return lines


def _params_json(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, bool | int) else text(v) for k, v in p.items()}


def as_json(outcome: Outcome, head: Mapping[str, Any]) -> dict[str, Any]:
    """`head` (what was asked), every set ranked (with its rank and its place in the search), the walk-forward."""
    results = [
        {"rank": rank, "set": i, "params": _params_json(outcome.sets[i]), **outcome.evaluations[i].whole.as_json()}
        for rank, i in enumerate(outcome.order, start=1)
    ]
    doc: dict[str, Any] = {**head, "results": results}
    wf = outcome.walk_forward
    if wf is not None:
        doc["walk_forward"] = {
            "windows": [
                {
                    "in_sample": {"from": str(p.window.is_start), "to": str(p.window.is_end), **p.in_sample.as_json()},
                    "out_of_sample": {
                        "from": str(p.window.oos_start),
                        "to": str(p.window.oos_end),
                        **p.out_of_sample.as_json(),
                    },
                    "set": p.index,
                    "params": _params_json(outcome.sets[p.index]),
                }
                for p in wf.picks
            ],
            "summary": wf.summary(),
        }
    return doc


def best_value(s: Score, metric: Metric) -> str:
    v: Decimal | None = s.shown(metric)
    if metric in ("net", "dd"):
        return money_text(v or Decimal(0))
    return "inf" if v is None else f"{v:.2f}"
