"""The benches' engine clock: the wall clock, moved back into a trading day's open hours only when the
bench runs outside them (bench/market_clock.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bench.market_clock import MarketHoursClock, shift_into_hours
from trading.calendar import ny, to_ny


@pytest.mark.parametrize(
    ("now_ny", "lands_on"),
    [
        (datetime(2026, 12, 4, 17, 47), date(2026, 12, 4)),  # Friday after the close: Friday 11:00
        (datetime(2026, 12, 5, 12, 0), date(2026, 12, 4)),  # Saturday: Friday
        (datetime(2026, 12, 7, 8, 0), date(2026, 12, 4)),  # Monday before the open: the Friday before
        (datetime(2026, 12, 2, 15, 0), date(2026, 12, 2)),  # Wednesday, under an hour before 15:55: that day
        (datetime(2026, 11, 26, 12, 0), date(2026, 11, 25)),  # Thanksgiving (no session): the day before
        (datetime(2026, 11, 27, 12, 30), date(2026, 11, 27)),  # early close (13:00): past 11:55, back to its 11:00
    ],
)
def test_outside_open_hours_it_lands_on_the_latest_trading_days_1100(now_ny: datetime, lands_on: date) -> None:
    now = ny(now_ny.date(), now_ny.time())
    shift = shift_into_hours(now)
    assert shift > timedelta(0)
    assert now - shift == ny(lands_on, time(11, 0))


@pytest.mark.parametrize("at", [time(9, 30), time(12, 0), time(14, 54)])
def test_inside_open_hours_it_is_the_wall_clock(at: time) -> None:
    assert shift_into_hours(ny(date(2026, 12, 2), at)) == timedelta(0)


def test_the_clock_is_the_wall_clock_less_a_fixed_shift() -> None:
    clock = MarketHoursClock()
    before = datetime.now(UTC)
    seen = clock.now()
    after = datetime.now(UTC)
    assert before - clock.shift <= seen <= after - clock.shift
    day = to_ny(seen).date()
    assert shift_into_hours(seen) == timedelta(0) or seen >= ny(day, time(14, 55))  # in hours when it was made
