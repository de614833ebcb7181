"""The backtest loop in Rust (trading/backtest/native.py, rust_ext/src/backtest/run.rs) writes what the
Python loop writes: the same `--json`, byte for byte, on every scenario day, on a generated year of two
symbols, and on random bar sequences with random strategy parameters, costs and risk limits; and the
Python strategy's run agrees with both (tests/support/parity.py).
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.parity import json_text, run_both, run_one
from tests.support.random_days import rth_script
from tests.support.scenario_days import Scenario, build, random_walk_year
from trading import calendar as cal
from trading.backtest import native as rust_loop
from trading.backtest.runner import Backtest, run_backtest
from trading.config import BacktestSettings, OvernightRangeSettings, RiskSettings
from trading.risk import RiskManager
from trading.strategies.overnight_range import OvernightRange

LONG_DAY = {
    time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),
    time(10, 0): (20058.0, 20070.0, 20055.0, 20060.0),
    time(10, 30): (20100.0, 20131.0, 20100.0, 20120.0),
}
SHORT_DAY = {time(9, 40): (19960.0, 19962.0, 19940.0, 19945.0)}
WHIPSAW = {
    time(9, 40): (20040.0, 20051.0, 20040.0, 20045.0),
    time(9, 50): (20000.0, 20000.0, 19940.0, 19945.0),
}
BOTH_IN_ONE_BAR = {time(9, 40): (19990.0, 20060.0, 19940.0, 20000.0)}

# The spec's "What must be proven" days (tests/scenarios/test_overnight_scenarios.py works them by hand).
SCENARIOS: dict[str, tuple[Scenario, dict[str, Any]]] = {
    "normal long": (Scenario(date(2025, 6, 11), rth=LONG_DAY), {}),
    "normal short": (Scenario(date(2025, 6, 12), rth=SHORT_DAY), {}),
    "whipsaw": (Scenario(date(2025, 6, 13), rth=WHIPSAW), {}),
    "both in one bar": (Scenario(date(2025, 6, 13), rth=BOTH_IN_ONE_BAR), {}),
    "no break": (Scenario(date(2025, 6, 16)), {}),
    "gap beyond the range": (Scenario(date(2025, 6, 17), rth={time(9, 30): (20100.0, 20110.0, 20090.0, 20100.0)}), {}),
    "gap filter": (
        Scenario(date(2025, 6, 17), rth={time(9, 30): (20300.0, 20310.0, 20290.0, 20300.0)}),
        {"gap_filter": True},
    ),
    "march dst monday": (Scenario(date(2025, 3, 10), rth=LONG_DAY), {}),
    "march dst friday": (Scenario(date(2025, 3, 7), rth=LONG_DAY), {}),
    "november dst monday": (Scenario(date(2025, 11, 3), rth=LONG_DAY), {}),
    "cme holiday": (Scenario(date(2025, 12, 26), rth=LONG_DAY), {}),
    "early close": (Scenario(date(2025, 11, 28), rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)}), {}),
    "sunday open": (
        Scenario(date(2025, 6, 9), onl_at=cal.ny(date(2025, 6, 8), time(18, 0)), rth=SHORT_DAY),
        {},
    ),
    "missing data": (
        Scenario(
            date(2025, 6, 18),
            rth=LONG_DAY,
            missing=[(cal.ny(date(2025, 6, 18), time(0)), cal.ny(date(2025, 6, 18), time(2)))],
        ),
        {},
    ),
}


def loops(config: OvernightRangeSettings, bars: Any, start: date, end: date, **kwargs: Any) -> tuple[str, str]:
    """The --json of the Rust loop and of the Python loop (the Rust strategy in both)."""
    rs, rs_bt = run_one(config, bars, start, end, **kwargs)
    py, py_bt = run_one(config, bars, start, end, native=False, **kwargs)
    assert (rs_bt.loop, py_bt.loop) == ("rust", "python")
    return json_text(rs), json_text(py)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_day_writes_the_same_json(name: str) -> None:
    s, cfg = SCENARIOS[name]
    config = OvernightRangeSettings(symbols=("MNQ",), impl="rust", **cfg)
    rs, bt = run_both(config, build(s), s.day, s.day)  # Python strategy, Rust strategy in both loops
    assert bt.loop == "rust" and rs.days


def test_a_generated_year_of_two_symbols_writes_the_same_json() -> None:
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    bars = random_walk_year(["MNQ", "MES"], start, end)
    config = OvernightRangeSettings(symbols=("MNQ", "MES"), impl="rust")
    rust, python = loops(config, bars, start, end)
    assert rust == python
    assert '"trades": []' not in rust


def test_two_months_with_tight_risk_and_costs() -> None:
    """Every filter on, fees and slippage, risk limits small enough that the kill switch trips between
    fills: the Rust loop writes the Python loop's --json, and the Python strategy agrees."""
    start, end = date(2025, 3, 1), date(2025, 4, 30)
    bars = random_walk_year(["MNQ", "MES"], start, end, seed=11)
    config = OvernightRangeSettings(
        symbols=("MNQ", "MES"), impl="rust", range_filter=True, gap_filter=True, volatility_filter=True,
        daily_loss_filter=True, range_min=Decimal("10"), atr5_min=Decimal("1"), breakeven_enabled=True,
    )  # fmt: skip
    costs = BacktestSettings(fees_per_contract_side=Decimal("0.37"), slippage_ticks=1)
    for risk in (
        RiskSettings(daily_loss_limit=Decimal(20), max_loss_trailing=Decimal(5000), daily_profit_cap=Decimal(15)),
        RiskSettings(daily_loss_limit=Decimal(1000), max_loss_trailing=Decimal(150), daily_profit_cap=Decimal(40)),
    ):
        rs, _ = run_both(config, bars, start, end, risk=risk, settings=costs)
        assert any("kill switch" in o["reason"] for o in rs.orders)
    # The contract cap (two symbols, one contract) and trading hours that open after the entries.
    for risk, refusal in (
        (RiskSettings(max_position_total=1), "contracts would reach 2 (max 1"),
        (RiskSettings(trading_start=time(9, 45)), "outside trading hours (09:45-15:55"),
    ):
        rs, _ = run_both(config, bars, start, end, risk=risk, settings=costs)
        assert any(o["reason"].startswith(refusal) for o in rs.orders if o["action"] == "refused")


def test_every_profile_s_risk_runs_in_rust_and_inexact_micros_ask_the_risk_manager() -> None:
    """A profit target (and its trip) is decided by the engine's Rust risk in the loop; micros per lot of 3
    (rounded sums, added in a set's order in Python) leave risk to the backtest's RiskManager, asked from
    Rust. Either way the Python loop's --json."""
    start, end = date(2025, 3, 1), date(2025, 4, 30)
    bars = random_walk_year(["MNQ", "MES"], start, end, seed=11)
    config = OvernightRangeSettings(symbols=("MNQ", "MES"), impl="rust", breakeven_enabled=True)
    target = {"profit_target": "150", "starting_balance": "50000"}
    for overrides, in_rust in ((target, True), ({**target, "micros_per_lot": 3}, False)):
        risk = RiskSettings(daily_loss_limit=Decimal(60), overrides=overrides)
        assert (rust_loop._rust_risk(RiskManager(risk), start, end) is not None) is in_rust
        rs, _ = run_both(config, bars, start, end, risk=risk)
        assert any("kill switch" in o["reason"] for o in rs.orders)


def test_the_loop_is_chosen_by_the_implementation() -> None:
    s, _ = SCENARIOS["normal long"]
    bars = build(s)
    for impl, loop in (("python", "python"), ("rust", "rust")):
        config = OvernightRangeSettings(symbols=("MNQ",), impl=impl)
        bt = Backtest(lambda ctx, c=config: OvernightRange(c, ctx), bars)  # type: ignore[misc]
        bt.run(s.day, s.day)
        assert bt.loop == loop
    python = OvernightRangeSettings(symbols=("MNQ",), impl="python")
    result = run_backtest(lambda ctx: OvernightRange(python, ctx), bars, s.day, s.day, impl="rust")
    assert result.trades and json_text(result) == json_text(
        run_backtest(lambda ctx: OvernightRange(python, ctx), bars, s.day, s.day, impl="python")
    )


@given(
    day=st.sampled_from((date(2025, 6, 11), date(2025, 3, 10), date(2025, 11, 28))),
    half_range=st.integers(4, 400).map(lambda q: q * 0.25),
    data=st.data(),
    breakeven=st.booleans(),
    oco=st.booleans(),
    stop_mult=st.sampled_from(("0.5", "1.25", "2.0", "3.1")),
    target_mult=st.sampled_from(("0.5", "2.0", "3.7")),
    breakeven_points=st.integers(1, 40),
    fees=st.sampled_from(("0", "0.37", "1.25")),
    slippage=st.integers(0, 3),
    loss=st.integers(5, 400),
    trailing=st.integers(5, 2000),
    cap=st.none() | st.integers(1, 300),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bars_and_parameters_give_identical_trades_and_reports(
    day: date, half_range: float, data: st.DataObject, breakeven: bool, oco: bool, stop_mult: str,
    target_mult: str, breakeven_points: int, fees: str, slippage: int, loss: int, trailing: int, cap: int | None,
) -> None:  # fmt: skip
    base = 20000.0
    s = Scenario(day, onh=base + half_range, onl=base - half_range, rth=data.draw(rth_script(base, 40)))
    config = OvernightRangeSettings(
        symbols=("MNQ",), impl="rust", breakeven_enabled=breakeven, breakeven_points=Decimal(breakeven_points),
        cancel_opposite_on_fill=oco, stop_atr_mult=Decimal(stop_mult), target_atrd_mult=Decimal(target_mult),
    )  # fmt: skip
    risk = RiskSettings(
        daily_loss_limit=Decimal(loss),
        max_loss_trailing=Decimal(trailing),
        daily_profit_cap=None if cap is None else Decimal(cap),
    )
    costs = BacktestSettings(fees_per_contract_side=Decimal(fees), slippage_ticks=slippage)
    run_both(config, build(s), day, day, risk=risk, settings=costs)
