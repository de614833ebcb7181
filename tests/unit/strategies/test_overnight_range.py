"""Overnight range: warm-up, filters, breakeven, restart, tags and bracket rounding.

Every test runs against both implementations (`impl` = python | rust); under "rust" each backtest
also runs the Python one and demands the same orders, fills, levels, notifications and state
(tests/support/parity.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.parity import IMPLS, run_both, run_one
from tests.support.scenario_days import Scenario, build
from trading.backtest.ledger import BacktestResult
from trading.backtest.runner import Backtest, BacktestContext
from trading.calendar import trading_day
from trading.config import OvernightRangeSettings
from trading.domain import Side
from trading.marketdata.levels import round_half_away
from trading.strategies.base import AccountInfo, SessionEvent
from trading.strategies.overnight_range import OvernightRange, custom_tag

D = date(2025, 6, 11)
LONG_DAY = {
    time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),
    time(10, 0): (20058.0, 20070.0, 20045.0, 20060.0),  # breakeven reached; its own low 20045 is below entry
    time(10, 15): (20060.0, 20060.0, 20049.0, 20055.0),  # SL now at 20050.25 -> exit at entry
}


IMPL = {"now": "python"}  # set per test by the `impl` fixture


@pytest.fixture(autouse=True, params=IMPLS)
def impl(request: pytest.FixtureRequest) -> str:
    IMPL["now"] = request.param
    return str(request.param)


def settings(**cfg: Any) -> OvernightRangeSettings:
    return OvernightRangeSettings(symbols=("MNQ",), impl=IMPL["now"], **cfg)


def run(s: Scenario, ctx_wrapper: Any = None, **cfg: Any) -> tuple[BacktestResult, Backtest]:
    config = settings(**cfg)
    both = run_both if config.impl == "rust" else run_one
    return both(config, build(s), s.day, s.day, ctx_wrapper)


def test_warm_up_blocks_until_fifteen_sessions() -> None:
    r, _ = run(Scenario(D, history_sessions=10))
    assert r.orders == []
    assert r.days[0]["blocked"].startswith("warm-up: 5 of the 15 daily sessions")
    card = next(n for n in r.notifications if n.get("card") == "range")
    assert card["provisional"] is True and card["warmup"].startswith("warm-up")
    r, _ = run(Scenario(D, history_sessions=14))
    assert r.orders == [] and r.days[0]["blocked"].startswith("warm-up: 1 of the 15")
    r, _ = run(Scenario(D, history_sessions=15))
    assert [o["action"] for o in r.orders] == ["placed", "placed", "cancelled", "cancelled"]


def test_range_card_at_0925_is_provisional() -> None:
    r, _ = run(Scenario(D))
    card = next(n for n in r.notifications if n.get("card") == "range")
    assert card["time"] == "2025-06-11T13:25:00+00:00"
    assert card["levels"]["onh"] == "20050.00" and card["levels"]["bars_expected"] == "925"
    assert card["warmup"] is None


def test_breakeven_moves_the_stop_from_the_next_bar_and_exits_at_entry() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY))
    assert [(f["time"], f["price"], f["customTag"]) for f in r.fills] == [
        ("2025-06-11T13:45:00+00:00", "20050.25", "overnight_range:MNQ:long:2025-06-11"),
        # 10:00 bar reached 20065.25 but its low 20045 did not hit the old stop 20040.25;
        # from 10:01 the stop is 20050.25, hit at 10:15 (open 20060 above): fill at the stop.
        ("2025-06-11T14:15:00+00:00", "20050.25", "overnight_range:MNQ:long:2025-06-11:sl"),
    ]
    assert r.trades[0]["pnl"] == "0.00"
    assert sum(1 for o in r.orders if o["action"] == "modified") == 1  # once


def test_breakeven_off_keeps_the_original_stop() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), breakeven_enabled=False)
    assert len(r.fills) == 2 and r.fills[1]["customTag"].endswith(":flatten:2025-06-11")


def test_range_filter_blocks() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), range_filter=True, range_max=Decimal("80"))
    assert r.orders == [] and r.days[0]["blocked"] == "range 100.0 points outside [50, 80]"
    assert r.days[0]["filters"]["range"]["blocks"] is True


def test_volatility_filter_blocks_a_quiet_atr5() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), volatility_filter=True)
    assert r.orders == [] and r.days[0]["blocked"] == "ATR5 8.0000 outside [20, 200]"


def test_filters_pass_when_inside_their_bounds() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), range_filter=True, volatility_filter=True, atr5_min=Decimal("5"),
               gap_filter=True, daily_loss_filter=True)  # fmt: skip
    assert r.days[0]["blocked"] is None and len(r.fills) == 2


class LossyContext:
    """The backtest context, but the account has already lost `loss` today."""

    def __init__(self, inner: BacktestContext, loss: Decimal) -> None:
        self.inner, self.loss = inner, loss

    def account(self) -> AccountInfo:
        a = self.inner.account()
        return AccountInfo(a.account_id, a.balance, -self.loss, a.daily_loss_limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_daily_loss_proximity_filter() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), lambda c: LossyContext(c, Decimal("750")), daily_loss_filter=True)
    assert r.orders == [] and "used 75% of the daily loss limit" in r.days[0]["blocked"]
    r, _ = run(Scenario(D, rth=LONG_DAY), lambda c: LossyContext(c, Decimal("749.75")), daily_loss_filter=True)
    assert len(r.orders) > 0


def test_data_quality_filter_can_be_switched_off() -> None:
    from trading import calendar as cal

    hole = [(cal.ny(D, time(0, 0)), cal.ny(D, time(2, 0)))]
    r, _ = run(Scenario(D, rth=LONG_DAY, missing=hole), data_quality_filter=False)
    assert r.days[0]["blocked"] is None and len(r.fills) == 2


def test_a_restart_after_the_open_never_places_twice() -> None:
    s = Scenario(D)
    config = settings()
    bt = Backtest(lambda ctx: OvernightRange(config, ctx), build(s))
    bt.run(s.day, s.day)
    saved = bt.strategy.on_save()
    assert saved["opened"] is True and saved["symbols"]["MNQ"]["sides"]["buy"]["status"] == "cancelled"
    # A new process on the same day: state loaded, the open job fires again (misfire, restart).
    fresh = OvernightRange(config, bt.ctx)
    fresh.on_load(saved)
    before = len(bt.result.orders)
    from trading import calendar as cal

    bt.clock = cal.ny(D, time(9, 31))
    fresh.on_session_event(SessionEvent.OPEN, cal.trading_day(D))
    assert len(bt.result.orders) == before
    assert fresh.on_save() == saved


def test_late_start_after_the_grace_places_nothing() -> None:
    from trading import calendar as cal

    s = Scenario(D)
    config = settings()
    bt = Backtest(lambda ctx: OvernightRange(config, ctx), build(s))
    bt.clock = cal.ny(D, time(9, 36))
    bt.strategy.on_session_event(SessionEvent.OPEN, cal.trading_day(D))
    assert bt.result.orders == [] and "grace" in bt.result.days[0]["blocked"]
    bt2 = Backtest(lambda ctx: OvernightRange(config, ctx), build(s))
    bt2.clock = cal.ny(D, time(9, 35))  # exactly at the end of the grace: still placed
    bt2.strategy.on_session_event(SessionEvent.OPEN, cal.trading_day(D))
    assert len(bt2.result.orders) == 2


def test_custom_tags_are_deterministic_and_distinct() -> None:
    tags = {custom_tag("overnight_range", sym, side, day) for sym in ("MNQ", "MES") for side in Side
            for day in (D, date(2025, 6, 12))}  # fmt: skip
    assert len(tags) == 8
    assert custom_tag("overnight_range", "MNQ", Side.BUY, D) == "overnight_range:MNQ:long:2025-06-11"


@given(st.integers(-10_000, 10_000))
def test_round_half_away_from_zero(quarters: int) -> None:
    x = Fraction(quarters, 4)
    n = round_half_away(x)
    assert abs(x - n) <= Fraction(1, 2)
    if abs(x - int(x)) == Fraction(1, 2):
        assert abs(n) > abs(x)
    assert round_half_away(-x) == -n


def test_bracket_ticks_round_half_away_and_respect_the_minimum() -> None:
    # ATR5 with a mean of 8.1: 1.25 x 8.1 / 0.25 = 40.5 -> 41 ticks. A tiny ATR5 gives the 4-tick minimum.
    s = Scenario(D, atr5_half=4.05)
    r, _ = run(s)
    placed = [o for o in r.orders if o["action"] == "placed"]
    assert placed[0]["sl_ticks"] == -41 and placed[1]["sl_ticks"] == 41
    r, _ = run(Scenario(D, atr5_half=0.25))
    placed = [o for o in r.orders if o["action"] == "placed"]
    assert placed[0]["sl_ticks"] == -4  # 1.25 x 0.5 / 0.25 = 2.5 -> 3 -> raised to 4


def _payload(r: BacktestResult, kind: str) -> list[Mapping[str, Any]]:
    return [n for n in r.notifications if n["kind"] == kind]


def test_fills_are_notified() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY))
    assert [n["price"] for n in _payload(r, "entry_fill")] == ["20050.25"]
    assert [n["price"] for n in _payload(r, "exit_fill")] == ["20050.25"]
    (summary,) = _payload(r, "summary")
    assert summary["pnl"] == {"overnight_range:MNQ:long:2025-06-11": "0.00"}


async def test_state_survives_a_restart_through_the_store(store: Any) -> None:
    from trading import calendar as cal
    from trading.strategies.base import persist, restore

    s = Scenario(D, rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)})
    config = settings()
    bt = Backtest(lambda ctx: OvernightRange(config, ctx), build(s))
    bt.run(D, D)
    await persist(bt.strategy, store.strategy_state, D)
    fresh = OvernightRange(config, bt.ctx)
    assert await restore(fresh, store.strategy_state, D)
    assert fresh.on_save() == bt.strategy.on_save()
    assert fresh.on_save()["symbols"]["MNQ"]["sides"]["buy"]["fill_price"] == "20050.25"
    before = len(bt.result.orders)
    bt.clock = cal.ny(D, time(9, 30))
    fresh.on_session_event(SessionEvent.OPEN, cal.trading_day(D))
    assert len(bt.result.orders) == before
    assert not await restore(OvernightRange(config, bt.ctx), store.strategy_state, date(2025, 6, 12))


def test_data_quality_boundary_is_exactly_ninety_percent() -> None:
    from datetime import timedelta

    from trading import calendar as cal

    start = cal.ny(D, time(0, 0))
    # 93 of 930 minutes missing: 837/930 = 90% exactly, which is not "fewer than 90%".
    r, _ = run(Scenario(D, missing=[(start, start + timedelta(minutes=93))]))
    assert r.days[0]["blocked"] is None and r.days[0]["filters"]["data_quality"]["value"] == "0.9000"
    r, _ = run(Scenario(D, missing=[(start, start + timedelta(minutes=94))]))
    assert r.days[0]["blocked"].startswith("data quality: 836 of 930")


def test_config_is_validated_and_frozen() -> None:
    import pytest
    from pydantic import ValidationError

    cfg = OvernightRange.config_from({"symbols": ["MES"], "offset": "0.5", "last_entry_time": "10:30:00"})
    assert cfg.symbols == ("MES",) and cfg.offset == Decimal("0.5") and cfg.last_entry_time == time(10, 30)
    with pytest.raises(ValidationError):
        OvernightRange.config_from({"quantity": 0})
    with pytest.raises(ValidationError):
        OvernightRange.config_from({"no_such_setting": 1})
    with pytest.raises(ValidationError):
        cfg.offset = Decimal(1)  # type: ignore[misc]


def test_a_flatten_exit_is_notified_with_its_symbol() -> None:
    r, _ = run(Scenario(D, rth=LONG_DAY), breakeven_enabled=False)
    assert r.fills[1]["customTag"] == "overnight_range:MNQ:flatten:2025-06-11"
    (exit_fill,) = _payload(r, "exit_fill")
    assert exit_fill["symbol"] == "MNQ" and exit_fill["side"] == "buy"
    assert exit_fill["tag"] == "overnight_range:MNQ:flatten:2025-06-11"


def test_the_range_chart_draws_the_levels_of_the_card() -> None:
    """The 09:25 chart's lines are the 09:25 card's numbers, named as on the card (one rule for both)."""
    r, bt = run(Scenario(D))
    card = next(n for n in r.notifications if n.get("card") == "range")
    assert isinstance(bt.strategy, OvernightRange)
    day = trading_day(D)
    lines = dict(bt.strategy.chart_levels("MNQ", day, day.at(time(9, 25))))
    tick = Decimal(card["tick_size"])
    shown = {name: f"{value.quantize(tick)}" for name, value in lines.items()}
    assert shown["ONH"] == card["levels"]["onh"] and shown["ONL"] == card["levels"]["onl"]
    assert shown["Long entry"] == f"{Decimal(card['sides']['buy']['level']).quantize(tick)}"
    assert shown["Short entry"] == f"{Decimal(card['sides']['sell']['level']).quantize(tick)}"


def test_implausible_levels_are_refused_and_said_why() -> None:
    """A 7 % overnight range (the simulator once served one, with a 430-point spike) is bad data: no
    entries, and the card says so. A wide but possible range trades; 0 switches the check off."""
    spike = Scenario(D, onh=21600.0, onl=19950.0)  # 1650 points: 8.3 % of the price
    r, _ = run(spike)
    assert r.orders == [] and r.days[0]["filters"]["plausibility"]["blocks"] is True
    assert r.days[0]["blocked"].startswith("implausible levels: the overnight range 1650")
    assert "8.3% of the price (more than 7%" in r.days[0]["blocked"]
    wide, _ = run(Scenario(D, onh=20600.0, onl=19950.0))  # 650 points: 3.3 %
    assert wide.days[0]["filters"]["plausibility"]["blocks"] is False and wide.days[0]["blocked"] is None
    off, _ = run(spike, plausible_range_max=Decimal(0))
    assert off.days[0]["filters"]["plausibility"]["enabled"] is False and off.days[0]["blocked"] is None
