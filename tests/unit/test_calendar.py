"""Calendar: hand-checked session boundaries around DST, holidays and early closes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import calendar as cal


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_march_dst_week_moves_utc_times_by_an_hour() -> None:
    # US DST began Sunday 2025-03-09. Friday 03-07 is EST (UTC-5), Monday 03-10 is EDT (UTC-4).
    fri = cal.trading_day(date(2025, 3, 7))
    assert fri.window_start == utc(2025, 3, 6, 23, 0)
    assert fri.window_end == utc(2025, 3, 7, 14, 30)
    assert fri.flatten == utc(2025, 3, 7, 20, 55)
    mon = cal.trading_day(date(2025, 3, 10))
    # Sunday 18:00 EDT reopen for Monday.
    assert mon.window_start == utc(2025, 3, 9, 22, 0)
    assert mon.window_end == utc(2025, 3, 10, 13, 30)
    assert mon.rth_close == utc(2025, 3, 10, 20, 0)
    assert mon.flatten == utc(2025, 3, 10, 19, 55)
    assert cal.open_minutes(mon.window_start, mon.window_end) == 930


def test_november_dst_week() -> None:
    # DST ended Sunday 2025-11-02: Friday 10-31 EDT, Monday 11-03 EST.
    fri = cal.trading_day(date(2025, 10, 31))
    assert fri.window_start == utc(2025, 10, 30, 22, 0)
    assert fri.window_end == utc(2025, 10, 31, 13, 30)
    mon = cal.trading_day(date(2025, 11, 3))
    assert mon.window_start == utc(2025, 11, 2, 23, 0)
    assert mon.window_end == utc(2025, 11, 3, 14, 30)
    assert cal.open_minutes(mon.window_start, mon.window_end) == 930


def test_thanksgiving_and_the_day_after() -> None:
    assert not cal.is_trading_day(date(2025, 11, 27))  # NYSE closed; CME has a short session
    thx = cal.cme_session(date(2025, 11, 27))
    assert thx is not None and thx.early_close
    assert thx.close == utc(2025, 11, 27, 18, 0)  # 13:00 ET
    friday = cal.trading_day(date(2025, 11, 28))
    assert friday.early_close
    assert friday.rth_close == utc(2025, 11, 28, 18, 0)  # 13:00 ET
    assert friday.flatten == utc(2025, 11, 28, 17, 55)  # 12:55 ET
    assert friday.window_start == utc(2025, 11, 27, 23, 0)  # Thursday 18:00 ET reopen
    assert cal.previous_trading_day(date(2025, 11, 28)) == date(2025, 11, 26)
    # The previous *session* (daily bar) is Thanksgiving's short one.
    assert cal.sessions_before(date(2025, 11, 28), 1)[0].date == date(2025, 11, 27)


def test_christmas_eve_and_the_day_after_christmas() -> None:
    eve = cal.trading_day(date(2025, 12, 24))
    assert eve.early_close and eve.flatten == utc(2025, 12, 24, 17, 55)
    assert cal.cme_session(date(2025, 12, 25)) is None
    assert not cal.is_trading_day(date(2025, 12, 25))
    after = cal.trading_day(date(2025, 12, 26))
    # CME holiday with no session: the window opens at 18:00 of the last day with a session (Christmas
    # Eve); Globex really reopened Christmas 18:00, and no minute in between counts as open.
    assert after.window_start == utc(2025, 12, 24, 23, 0)
    assert after.cme.open == utc(2025, 12, 25, 23, 0)
    assert cal.open_minutes(after.window_start, after.window_end) == 930
    assert not cal.is_market_open(utc(2025, 12, 25, 12, 0))
    assert cal.is_market_open(utc(2025, 12, 24, 18, 0))  # CME 13:15 ET close on Christmas Eve
    assert not cal.is_market_open(utc(2025, 12, 24, 18, 15))


def test_new_year() -> None:
    jan2 = cal.trading_day(date(2026, 1, 2))  # CME closed on New Year's Day
    assert jan2.window_start == utc(2025, 12, 31, 23, 0)
    assert jan2.cme.open == utc(2026, 1, 1, 23, 0)


def test_good_friday() -> None:
    assert not cal.is_trading_day(date(2025, 4, 18))
    assert cal.previous_trading_day(date(2025, 4, 21)) == date(2025, 4, 17)
    monday = cal.trading_day(date(2025, 4, 21))
    assert monday.window_start == utc(2025, 4, 20, 22, 0)  # Sunday 18:00 EDT


def test_monday_after_sunday_open() -> None:
    mon = cal.trading_day(date(2025, 6, 9))
    assert mon.window_start == utc(2025, 6, 8, 22, 0)
    assert not cal.is_market_open(utc(2025, 6, 8, 21, 59))
    assert cal.is_market_open(utc(2025, 6, 8, 22, 0))
    assert not cal.is_market_open(utc(2025, 6, 9, 21, 0))  # 17:00 ET daily break
    assert cal.is_market_open(utc(2025, 6, 9, 20, 59))


def test_not_a_trading_day_raises() -> None:
    with pytest.raises(cal.NotATradingDay):
        cal.trading_day(date(2025, 7, 4))
    with pytest.raises(cal.NotATradingDay):
        cal.trading_day(date(2025, 6, 7))  # Saturday


def test_mlk_day_window_starts_at_the_cme_reopen_of_the_holiday() -> None:
    # NYSE closed on MLK day but CME traded until 13:00 ET; Tuesday's window opens Monday 18:00.
    tue = cal.trading_day(date(2025, 1, 21))
    assert tue.window_start == utc(2025, 1, 20, 23, 0)
    assert cal.previous_trading_day(date(2025, 1, 21)) == date(2025, 1, 17)


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(2019, 1, 2), max_value=date(2026, 12, 20)))
def test_boundaries_are_utc_ordered_and_windows_do_not_overlap(d: date) -> None:
    days = cal.trading_days(d, d + timedelta(days=10))
    previous: cal.TradingDay | None = None
    for day_ in days:
        td = cal.trading_day(day_)
        for ts in (td.window_start, td.window_end, td.rth_open, td.rth_close, td.flatten, td.cme.open, td.cme.close):
            assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)
        assert td.window_start < td.window_end == td.rth_open < td.flatten < td.rth_close <= td.cme.close
        assert td.window_start <= td.cme.open
        assert cal.open_minutes(td.window_start, td.cme.open) == 0  # nothing trades before the reopen
        assert cal.to_ny(td.window_start).hour == 18 and cal.to_ny(td.window_end).strftime("%H:%M") == "09:30"
        if previous is not None:
            assert previous.rth_close < td.window_start
        previous = td
    sessions = cal.cme_sessions(d, d + timedelta(days=10))
    for a, b in itertools.pairwise(sessions):
        assert a.open < a.close <= b.open


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)))
def test_is_market_open_agrees_with_the_session_list(ts: datetime) -> None:
    sessions = cal.cme_sessions(ts.date() - timedelta(days=5), ts.date() + timedelta(days=5))
    expected = any(s.open <= ts < s.close for s in sessions)
    assert cal.is_market_open(ts) == expected
