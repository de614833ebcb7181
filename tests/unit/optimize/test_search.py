"""The walk-forward verdict from scores alone: the in-sample winner of each window, what it earned out of
sample, the summary; and the printed lines and JSON that carry them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from trading.optimize.metrics import Score
from trading.optimize.pool import Evaluation
from trading.optimize.search import Outcome, most_chosen, spans_of, walk_forward
from trading.optimize.table import as_json, result_lines, walk_forward_lines
from trading.optimize.windows import windows

WINDOWS = windows(date(2025, 1, 1), date(2025, 4, 30), 2, 1)  # IS Jan-Feb / OOS Mar, IS Feb-Mar / OOS Apr
SETS = [{"stop_atr_mult": Decimal("1.0")}, {"stop_atr_mult": Decimal("2.0")}]


def S(net: int, trades: int = 4, dd: int = 10) -> Score:
    return Score(trades, Decimal(net), Decimal("1.5") if net > 0 else Decimal("0.5"), Decimal(dd))


# spans per set: IS1, OOS1, IS2, OOS2
EVALS = [
    Evaluation(S(150), (S(100), S(-30), S(20), S(40))),
    Evaluation(S(90), (S(50), S(25), S(60), S(-10))),
]


def test_spans_follow_the_windows() -> None:
    assert spans_of(WINDOWS) == (
        (date(2025, 1, 1), date(2025, 2, 28)), (date(2025, 3, 1), date(2025, 3, 31)),
        (date(2025, 2, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 4, 30)),
    )  # fmt: skip


def test_each_window_picks_its_in_sample_best_and_shows_it_out_of_sample() -> None:
    wf = walk_forward(WINDOWS, EVALS, "net")
    assert [p.index for p in wf.picks] == [0, 1]
    assert [p.out_of_sample.net for p in wf.picks] == [Decimal(-30), Decimal(-10)]
    assert wf.oos_net == Decimal(-40) and wf.is_net == Decimal(160) and wf.oos_profitable == 0
    assert wf.is_days > wf.oos_days > 0
    eff = wf.efficiency
    assert eff is not None and eff < 0  # the choices did not hold
    assert most_chosen(wf, SETS) == ("stop_atr_mult=1.0", 1)
    by_dd = walk_forward(WINDOWS, [EVALS[0], Evaluation(S(1), (S(1, dd=1), S(5), S(1, dd=50), S(3)))], "dd")
    assert [p.index for p in by_dd.picks] == [1, 0]


def test_lines_and_json_carry_the_verdict() -> None:
    wf = walk_forward(WINDOWS, EVALS, "net")
    outcome = Outcome(tuple(SETS), tuple(EVALS), (0, 1), wf)
    table = result_lines(outcome, ["stop_atr_mult"], top=1)
    assert table[0].split() == ["#", "stop_atr_mult", "trades", "net", "P&L", "profit", "factor", "max", "drawdown",
                                "net/dd"]  # fmt: skip
    assert table[1].split() == ["1", "1.0", "4", "$150.00", "1.50", "$10.00", "15.00"] and len(table) == 2
    lines = walk_forward_lines(wf, SETS, "net")
    assert lines[1].split()[:4] == ["2025-01-01..2025-02-28", "2025-03-01..2025-03-31", "stop_atr_mult=1.0", "$100.00"]
    assert "out of sample: -$40.00 over 2 windows" in lines[-4] and "profitable in 0 of 2" in lines[-4]
    doc = as_json(outcome, {"metric": "net"})
    assert [r["set"] for r in doc["results"]] == [0, 1] and doc["results"][0]["params"] == {"stop_atr_mult": "1.0"}
    assert doc["walk_forward"]["summary"]["oos_net_pnl"] == "-40"
    assert doc["walk_forward"]["windows"][1]["out_of_sample"] == {
        "from": "2025-04-01", "to": "2025-04-30", "trades": 4, "net_pnl": "-10", "profit_factor": "0.5000",
        "max_drawdown": "10", "ratio": "-1.0000",
    }  # fmt: skip
