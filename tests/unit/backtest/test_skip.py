"""The Python loop's fast-forward (trading/backtest/skip.py; `native=False`, else the Rust strategy runs in
the Rust loop): skipping in Rust the bars that change nothing gives the same backtest as replaying every
bar, byte for byte, and as the Python strategy's run.

The risk numbers are tight here so that the skip's kill-switch guard is exercised: the daily loss limit,
the trailing floor and the daily profit cap trip on marks of bars between fills.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.parity import json_text, run_both, run_one
from tests.support.random_days import rth_script
from tests.support.scenario_days import Scenario, build, random_walk_year
from trading.backtest.runner import Backtest
from trading.backtest.skip import skipper_of
from trading.config import OvernightRangeSettings, RiskSettings
from trading.strategies.overnight_range import OvernightRange

DAYS = (date(2025, 6, 11), date(2025, 3, 10), date(2025, 11, 28))


def tight(loss: int, trailing: int, cap: int | None) -> RiskSettings:
    return RiskSettings(
        daily_loss_limit=Decimal(loss),
        max_loss_trailing=Decimal(trailing),
        daily_profit_cap=None if cap is None else Decimal(cap),
    )


def test_the_rust_strategy_skips_and_the_python_one_does_not() -> None:
    bars = build(Scenario(date(2025, 6, 11)))
    for impl, skips in (("python", False), ("rust", True)):
        config = OvernightRangeSettings(symbols=("MNQ",), impl=impl)
        bt = Backtest(lambda ctx, c=config: OvernightRange(c, ctx), bars)  # type: ignore[misc]
        assert (skipper_of(bt) is not None) is skips
        off = Backtest(lambda ctx, c=config: OvernightRange(c, ctx), bars, skip=False)  # type: ignore[misc]
        assert off.skip is False


def test_two_months_with_tight_risk_skip_like_they_replay() -> None:
    """Two symbols, every filter on, risk limits small enough that the kill switch trips between fills:
    the skipping Rust run, the replaying Rust run and the Python run write the same --json."""
    start, end = date(2025, 3, 1), date(2025, 4, 30)
    bars = random_walk_year(["MNQ", "MES"], start, end, seed=11)
    config = OvernightRangeSettings(
        symbols=("MNQ", "MES"), impl="rust", range_filter=True, gap_filter=True, volatility_filter=True,
        daily_loss_filter=True, range_min=Decimal("10"), atr5_min=Decimal("1"), breakeven_enabled=True,
    )  # fmt: skip
    for risk in (tight(20, 5000, 15), tight(1000, 150, 40)):  # loss limit + cap; floor + cap
        skipped, _ = run_one(config, bars, start, end, risk=risk, native=False)
        replayed, _ = run_one(config, bars, start, end, risk=risk, skip=False, native=False)
        assert json_text(skipped) == json_text(replayed)
        run_both(config, bars, start, end, risk=risk)
        assert any("kill switch" in o["reason"] for o in skipped.orders)


@given(
    day=st.sampled_from(DAYS),
    half_range=st.integers(4, 400).map(lambda q: q * 0.25),
    data=st.data(),
    breakeven=st.booleans(),
    oco=st.booleans(),
    loss=st.integers(5, 400),
    trailing=st.integers(5, 2000),
    cap=st.none() | st.integers(1, 300),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bar_sequences_give_identical_reports(
    day: date, half_range: float, data: st.DataObject, breakeven: bool, oco: bool, loss: int, trailing: int,
    cap: int | None,
) -> None:  # fmt: skip
    """Random RTH bars, random risk limits: Python, Rust replaying and Rust skipping agree on everything."""
    base = 20000.0
    s = Scenario(day, onh=base + half_range, onl=base - half_range, rth=data.draw(rth_script(base, 40)))
    config = OvernightRangeSettings(
        symbols=("MNQ",), impl="rust", breakeven_enabled=breakeven, breakeven_points=Decimal(4),
        cancel_opposite_on_fill=oco,
    )  # fmt: skip
    kwargs: dict[str, Any] = {"risk": tight(loss, trailing, cap)}
    bars = build(s)
    skipped, _ = run_one(config, bars, day, day, native=False, **kwargs)
    replayed, _ = run_one(config, bars, day, day, skip=False, native=False, **kwargs)
    assert json_text(skipped) == json_text(replayed)
    run_both(config, bars, day, day, **kwargs)
