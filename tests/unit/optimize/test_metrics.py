"""Scores by the backtest report's definitions, and the ranking: best first by the metric, a set without
trades always last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trading.optimize.metrics import NO_TRADES, Score, in_span, ranked, score

T0 = datetime(2025, 3, 3, 14, 45, tzinfo=UTC)  # 09:45 ET


def trade(pnl: str, day: int = 0, fees: str = "0") -> dict[str, Any]:
    entry = T0 + timedelta(days=day)
    exit_ = entry + timedelta(hours=1)
    return {"entry_time": entry.isoformat(), "exit_time": exit_.isoformat(), "pnl": pnl, "fees": fees}


def test_a_score_by_hand() -> None:
    s = score([trade("100", 0, "1"), trade("-50", 1, "1"), trade("30", 2, "1")])
    assert s.trades == 3 and s.net == Decimal("77")  # 80 - 3 fees
    assert s.profit_factor == Decimal("130") / Decimal("50")
    assert s.max_drawdown == Decimal("51")  # 99 -> 48
    assert s.ratio == Decimal("77") / Decimal("51")
    assert s.as_json() == {"trades": 3, "net_pnl": "77", "profit_factor": "2.6000", "max_drawdown": "51",
                           "ratio": "1.5098"}  # fmt: skip


def test_the_accounts_drawdown_is_taken_when_given() -> None:
    assert score([trade("10")], Decimal("7")).max_drawdown == Decimal("7")


def test_no_loss_and_no_drawdown_are_infinite() -> None:
    s = score([trade("10"), trade("5", 1)])
    assert s.profit_factor is None and s.ratio is None and s.value("pf") == s.value("ratio") == float("inf")
    assert NO_TRADES.ratio == 0 and NO_TRADES.as_json()["profit_factor"] is None


def test_spans_are_new_york_trading_days() -> None:
    late = {**trade("1"), "entry_time": "2025-03-04T03:30:00+00:00"}  # 22:30 ET on the 3rd
    picked = in_span([trade("1", 0), trade("2", 1), late], T0.date(), T0.date())
    assert [t["pnl"] for t in picked] == ["1", "1"]


def S(trades: int, net: int, pf: str | None, dd: int) -> Score:
    return Score(trades, Decimal(net), None if pf is None else Decimal(pf), Decimal(dd))


def test_each_metric_ranks_best_first_and_no_trades_last() -> None:
    scores = [S(0, 0, None, 0), S(5, 100, "1.5", 80), S(5, 60, "3", 10), S(5, -20, "0.5", 40), S(2, 30, None, 0)]
    assert ranked(scores, "net") == [1, 2, 4, 3, 0]
    assert ranked(scores, "pf") == [4, 2, 1, 3, 0]
    assert ranked(scores, "dd") == [4, 2, 3, 1, 0]  # lowest drawdown first; none of the untraded set's merit
    assert ranked(scores, "ratio") == [4, 2, 1, 3, 0]


def test_ties_go_to_the_higher_net_then_the_earlier_set() -> None:
    scores = [S(3, 10, "2", 5), S(3, 50, "2", 5), S(3, 10, "2", 5)]
    assert ranked(scores, "pf") == [1, 0, 2]


scores_st = st.builds(
    Score,
    st.integers(0, 50),
    st.decimals(-10_000, 10_000, places=2),
    st.one_of(st.none(), st.decimals(0, 100, places=4)),
    st.decimals(0, 10_000, places=2),
)


@given(st.lists(scores_st, max_size=60), st.sampled_from(["net", "pf", "dd", "ratio"]))
def test_ranking_is_a_permutation_ordered_by_the_metric(scores: list[Score], metric: Any) -> None:
    order = ranked(scores, metric)
    assert sorted(order) == list(range(len(scores)))
    traded = [scores[i] for i in order if scores[i].trades]
    assert [scores[i].trades for i in order].count(0) == len(scores) - len(traded)
    assert all(scores[i].trades == 0 for i in order[len(traded) :])
    values = [s.value(metric) for s in traded]
    assert values == sorted(values, reverse=True)
