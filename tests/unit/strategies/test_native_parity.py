"""The Rust overnight range against the Python one: random days, every action compared.

Hypothesis draws a day (overnight range, ATR5, a random walk of RTH bars at random minutes) and a
configuration (breakeven, entry OCO, filters, offset); the day is backtested with both
implementations and everything must be identical (tests/support/parity.py: orders, fills, levels,
filter verdicts, notifications, the --json document and the saved state).
"""

from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.parity import run_both
from tests.support.random_days import rth_script
from tests.support.scenario_days import Scenario, build, random_walk_year
from trading.backtest.runner import Backtest
from trading.config import OvernightRangeSettings
from trading.domain import Bar
from trading.strategies.native import RustOvernightRange
from trading.strategies.overnight_range import OvernightRange

DAYS = (date(2025, 6, 11), date(2025, 3, 10), date(2025, 11, 3), date(2025, 11, 28), date(2025, 1, 21))


@given(
    day=st.sampled_from(DAYS),
    half_range=st.integers(4, 600).map(lambda q: q * 0.25),
    atr5_half=st.integers(1, 40).map(lambda q: q * 0.25),
    data=st.data(),
    breakeven=st.booleans(),
    breakeven_points=st.integers(1, 80).map(Decimal),
    oco=st.booleans(),
    offset=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1.1")]),
    filters=st.booleans(),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_days_give_identical_actions(
    day: date, half_range: float, atr5_half: float, data: st.DataObject, breakeven: bool,
    breakeven_points: Decimal, oco: bool, offset: Decimal, filters: bool,
) -> None:  # fmt: skip
    base = 20000.0
    script = data.draw(rth_script(base))
    s = Scenario(day, onh=base + half_range, onl=base - half_range, atr5_half=atr5_half, rth=script)
    config = OvernightRangeSettings(
        symbols=("MNQ",), breakeven_enabled=breakeven, breakeven_points=breakeven_points,
        cancel_opposite_on_fill=oco, offset=offset, range_filter=filters, gap_filter=filters,
        volatility_filter=filters, atr5_min=Decimal("1.5"),
    )  # fmt: skip
    run_both(config, build(s), day, day)


def test_state_saved_by_one_implementation_loads_in_the_other() -> None:
    d = date(2025, 6, 11)
    s = Scenario(d, rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)})
    for first, second in (("python", "rust"), ("rust", "python")):
        config = OvernightRangeSettings(symbols=("MNQ",), impl=first)
        bt = Backtest(lambda ctx, c=config: OvernightRange(c, ctx), build(s))  # type: ignore[misc]
        bt.run(d, d)
        saved = bt.strategy.on_save()
        other = OvernightRange(config.model_copy(update={"impl": second}), bt.ctx)
        assert isinstance(other, RustOvernightRange) is (second == "rust")
        other.on_load(saved)
        assert json.dumps(other.on_save()) == json.dumps(saved)  # same keys, same order


def test_two_months_of_two_symbols_give_identical_days() -> None:
    """Many days in one run (state carried from day to day, a DST change, two symbols sharing the
    account): a random walk through March and April 2025, MNQ and MES, with every filter on."""
    start, end = date(2025, 3, 1), date(2025, 4, 30)
    bars = random_walk_year(["MNQ", "MES"], start, end, seed=11)
    config = OvernightRangeSettings(
        symbols=("MNQ", "MES"), range_filter=True, gap_filter=True, volatility_filter=True, daily_loss_filter=True,
        range_min=Decimal("10"), atr5_min=Decimal("1"),
    )  # fmt: skip
    result, _ = run_both(config, bars, start, end)
    assert len(result.days) > 60 and len(result.trades) > 10


def test_an_open_cut_short_is_adopted_alike() -> None:
    """A process that died inside the open job left its entries at the broker and no state: the next
    open adopts them (by their tags) instead of placing them again, the same in both implementations,
    including the entry OCO when one of them has filled since."""
    from trading import calendar as cal
    from trading.strategies.base import SessionEvent

    d = date(2025, 6, 11)
    s = Scenario(d)
    outcomes = []
    for impl in ("python", "rust"):
        config = OvernightRangeSettings(symbols=("MNQ",), impl=impl)
        bt = Backtest(lambda ctx, c=config: OvernightRange(c, ctx), build(s))  # type: ignore[misc]
        bt.clock = cal.ny(d, time(9, 30))
        bt.strategy.on_session_event(SessionEvent.OPEN, cal.trading_day(d))  # both entries placed
        bar = Bar("MNQ", "1m", cal.ny(d, time(9, 31)), 20040.0, 20060.0, 20040.0, 20058.0, 1.0)
        bt.book.process(bt.contracts["MNQ"].id, bar, bt._on_fill)  # the long fills, the short is cancelled
        fresh = OvernightRange(config, bt.ctx)  # a new process, no saved state
        bt.clock = cal.ny(d, time(9, 33))
        before = len(bt.result.orders)
        fresh.on_session_event(SessionEvent.OPEN, cal.trading_day(d))
        outcomes.append((json.dumps(fresh.on_save()), bt.result.orders[before:], bt.result.notifications[-1]))
    assert outcomes[0] == outcomes[1]
    sides = json.loads(outcomes[1][0])["symbols"]["MNQ"]["sides"]
    assert (sides["buy"]["status"], sides["buy"]["fill_price"]) == ("filled", "20050.25")
    assert (sides["sell"]["status"], sides["sell"]["note"]) == ("cancelled", "the broker has it cancelled")
    assert outcomes[1][1] == []  # nothing placed again
