"""The maximum loss floor, whatever the balances: it never falls, never rises above the lock, and
moves only when the trading day rolls (never intraday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.calendar import ny, trading_days
from trading.config import RiskSettings
from trading.risk import Exposure, RiskManager

DAYS = trading_days(date(2025, 6, 2), date(2025, 6, 27))
HOURS = [time(19), time(3), time(9, 30), time(12), time(15, 59)]  # the evening before, the night, the day


def moment(day: date, hour: time) -> datetime:
    # 19:00 belongs to the session that opened the evening before `day`.
    d = day if hour < time(18) else trading_days(date(2025, 5, 28), day)[-2]
    return ny(d, hour).astimezone(UTC)


marks = st.lists(
    st.tuples(st.integers(0, len(DAYS) - 1), st.integers(0, len(HOURS) - 1), st.integers(-3000, 3000)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(marks, st.sampled_from(["tc_50k", "tc_150k", "xfa_50k", "xfa_150k", "custom"]))
def test_the_floor_never_falls_never_passes_the_lock_and_moves_only_at_the_roll(
    steps: list[tuple[int, int, int]], profile: str
) -> None:
    rm = RiskManager(RiskSettings(profile=profile))
    start = rm.profile.starting_balance or Decimal(50000)
    balance = start
    floor = rm.floor
    day = rm.state.trading_date
    for d, h, change in sorted(steps, key=lambda s: (s[0], HOURS[s[1]] < time(18), s[1])):
        balance += change
        rm.mark(Exposure(balance=balance, realized_today=Decimal(change)), moment(DAYS[d], HOURS[h]))
        new = rm.floor
        if floor is not None and new is not None:
            assert new >= floor  # never falls
            if rm.state.trading_date == day:
                assert new == floor  # intraday: unchanged
        lock = rm.profile.max_loss_lock
        if new is not None and lock is not None:
            assert new <= (rm.starting_balance or start) + lock
        floor, day = new, rm.state.trading_date
