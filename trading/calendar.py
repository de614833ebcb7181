"""CME equity-index sessions in exchange time: trading days, the overnight window, RTH, early closes.

Built on pandas_market_calendars ("CME Globex Equity" for the futures sessions, "NYSE" for the cash
session) instead of a hand list of holidays. Everything returned is timezone-aware UTC; wall-clock
rules (18:00 reopen, 09:30 open, 15:55 flatten) are applied in America/New_York, so DST is handled
by zoneinfo, never by a fixed offset.

Definitions (see /work/shared/overnight-range.md):
- A *CME session* is one Globex equity session: from the 18:00 ET reopen to the 17:00 ET close of
  its trade date (earlier on early-close days). It is the daily bar used for ATRD.
- A *trading day* is a date that is both an NYSE session and a CME Globex equity session.
- The *overnight window* of trading day D runs from 18:00 ET of the previous *session* day to 09:30
  ET on D: the latest calendar day before D with a CME session (so the day after an NYSE-only
  holiday such as MLK day starts at 18:00 of the holiday, which had a CME session), or the Sunday
  before a Monday. After a CME holiday with no session (Christmas, New Year) that is 18:00 of the
  last day with a session (Christmas Eve for Dec 26), as the spec words it, although Globex really
  reopens only at 18:00 of the holiday: no bars exist in between and the calendar says the market
  is closed there, so ONH/ONL and the data-quality expected minutes are the same under either
  reading. `TradingDay.cme.open` is the real reopen.
- The *flatten* time is min(15:55, NYSE close - 5 min): 12:55 on a 13:00 early close.

Schedules are computed once per calendar year and cached: the calendar is queried on every bar.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pandas_market_calendars as mcal

NY = ZoneInfo("America/New_York")
CME_CALENDAR = "CME Globex Equity"
NYSE_CALENDAR = "NYSE"
RTH_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
REOPEN = time(18, 0)
DEFAULT_FLATTEN = time(15, 55)
ONE_MINUTE = timedelta(minutes=1)


class NotATradingDay(ValueError):
    """The date is not both an NYSE and a CME Globex equity session."""


def ny(d: date, t: time) -> datetime:
    """Wall-clock `t` on `d` in New York, as UTC (correct on both sides of a DST change)."""
    return datetime.combine(d, t, tzinfo=NY).astimezone(UTC)


def to_ny(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: every timestamp must be timezone-aware")
    return ts.astimezone(NY)


@dataclass(frozen=True, slots=True)
class CmeSession:
    """One Globex equity session: the daily bar of the futures."""

    date: date  # the trade date the exchange labels it with
    open: datetime  # UTC: the 18:00 ET reopen, on an earlier calendar day
    close: datetime  # UTC: 17:00 ET, or the early close

    @property
    def early_close(self) -> bool:
        return to_ny(self.close).time() < time(17, 0)


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One day the strategy may trade, with every boundary it needs, in UTC."""

    date: date
    window_start: datetime  # overnight window [window_start, window_end)
    window_end: datetime
    rth_open: datetime
    rth_close: datetime  # NYSE close, 13:00 ET on early-close days
    flatten: datetime
    cme: CmeSession

    @property
    def early_close(self) -> bool:
        return to_ny(self.rth_close).time() < REGULAR_CLOSE

    def at(self, t: time) -> datetime:
        """Wall-clock `t` (New York) on this trading day, in UTC."""
        return ny(self.date, t)


@dataclass(frozen=True, slots=True)
class _Year:
    cme: dict[date, CmeSession]
    cme_dates: list[date]  # sorted
    cme_opens: list[datetime]  # sorted, parallel to cme_dates
    nyse: dict[date, tuple[datetime, datetime]]
    trading: list[date]  # sorted: NYSE and CME


def _rows(frame: object) -> list[tuple[date, datetime, datetime]]:
    """(label date, open UTC, close UTC) rows of a pandas_market_calendars schedule."""
    out = []
    opens = frame.market_open.dt.tz_convert("UTC")  # type: ignore[attr-defined]
    closes = frame.market_close.dt.tz_convert("UTC")  # type: ignore[attr-defined]
    for label, o, c in zip(frame.index, opens, closes, strict=True):  # type: ignore[attr-defined]
        out.append((label.date(), o.to_pydatetime(), c.to_pydatetime()))
    return out


@lru_cache(maxsize=8)
def _decade(first_year: int) -> tuple[list[tuple[date, datetime, datetime]], list[tuple[date, datetime, datetime]]]:
    # One schedule call per decade: the package's cost is per call, not per row.
    first, last = date(first_year, 1, 1), date(first_year + 9, 12, 31)
    cme = _rows(mcal.get_calendar(CME_CALENDAR).schedule(first, last))
    nyse = _rows(mcal.get_calendar(NYSE_CALENDAR).schedule(first, last))
    return cme, nyse


@lru_cache(maxsize=64)
def _year(year: int) -> _Year:
    cme_rows, nyse_rows = _decade(year // 10 * 10)
    cme = {d: CmeSession(d, o, c) for d, o, c in cme_rows if d.year == year}
    nyse = {d: (o, c) for d, o, c in nyse_rows if d.year == year}
    dates = sorted(cme)
    return _Year(
        cme=cme,
        cme_dates=dates,
        cme_opens=[cme[d].open for d in dates],
        nyse=nyse,
        trading=sorted(d for d in nyse if d in cme),
    )


def cme_session(d: date) -> CmeSession | None:
    """The CME Globex equity session with trade date `d`, or None (weekend, CME holiday)."""
    return _year(d.year).cme.get(d)


def year_tables(year: int) -> tuple[list[tuple[date, datetime, datetime]], list[tuple[date, datetime, datetime]]]:
    """One year's CME Globex equity sessions and NYSE sessions as (date, open, close) rows, oldest
    first: the tables of the Rust risk check's calendar (trading/risk/native.py)."""
    yr = _year(year)
    return [(d, yr.cme[d].open, yr.cme[d].close) for d in yr.cme_dates], [(d, *yr.nyse[d]) for d in sorted(yr.nyse)]


def cme_sessions(start: date, end: date) -> list[CmeSession]:
    """CME sessions with trade dates in [start, end], oldest first."""
    out: list[CmeSession] = []
    for y in range(start.year, end.year + 1):
        yr = _year(y)
        lo = bisect.bisect_left(yr.cme_dates, start)
        hi = bisect.bisect_right(yr.cme_dates, end)
        out.extend(yr.cme[d] for d in yr.cme_dates[lo:hi])
    return out


def sessions_before(d: date, n: int) -> list[CmeSession]:
    """The `n` complete CME sessions before `d`'s session (or before `d`), oldest first."""
    out: list[CmeSession] = []
    end = d - timedelta(days=1)
    span = max(14, n * 2)
    while len(out) < n:
        start = end - timedelta(days=span)
        out = cme_sessions(start, d - timedelta(days=1))
        span *= 2
        if span > 3700:
            break
    return out[-n:]


def is_trading_day(d: date) -> bool:
    yr = _year(d.year)
    return d in yr.nyse and d in yr.cme


def trading_days(start: date, end: date) -> list[date]:
    """Trading days (NYSE and CME) in [start, end], oldest first."""
    out: list[date] = []
    for y in range(start.year, end.year + 1):
        days = _year(y).trading
        out.extend(days[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)])
    return out


def previous_trading_day(d: date) -> date:
    for y in (d.year, d.year - 1):
        days = _year(y).trading
        i = bisect.bisect_left(days, d)
        if i > 0:
            return days[i - 1]
    raise NotATradingDay(f"no trading day before {d}")


def next_trading_day(d: date) -> date:
    for y in (d.year, d.year + 1):
        days = _year(y).trading
        i = bisect.bisect_right(days, d)
        if i < len(days):
            return days[i]
    raise NotATradingDay(f"no trading day after {d}")


def rth(d: date) -> tuple[datetime, datetime] | None:
    """NYSE open and close on `d` (close is 13:00 ET on early-close days), or None."""
    return _year(d.year).nyse.get(d)


def is_early_close(d: date) -> bool:
    hours = rth(d)
    return hours is not None and to_ny(hours[1]).time() < REGULAR_CLOSE


def flatten_time(d: date, flatten: time = DEFAULT_FLATTEN, minutes_before_close: int = 5) -> datetime:
    """`flatten` (15:55) on a normal day; `minutes_before_close` before an early NYSE close."""
    hours = rth(d)
    if hours is None:
        raise NotATradingDay(f"{d} is not an NYSE session")
    return min(ny(d, flatten), hours[1] - timedelta(minutes=minutes_before_close))


@lru_cache(maxsize=4096)
def trading_day(
    d: date,
    window_end: time = RTH_OPEN,
    window_start: time = REOPEN,
    flatten: time = DEFAULT_FLATTEN,
    minutes_before_close: int = 5,
) -> TradingDay:
    """Every boundary of trading day `d`; raises `NotATradingDay` when `d` is not one."""
    session = cme_session(d)
    hours = rth(d)
    if session is None or hours is None:
        raise NotATradingDay(f"{d} is not a trading day (NYSE and CME Globex equity)")
    previous = sessions_before(d, 1)
    start_day = previous[0].date if previous else to_ny(session.open).date()
    if d.weekday() == 0:  # Monday: the Sunday reopen
        start_day = max(start_day, d - timedelta(days=1))
    return TradingDay(
        date=d,
        window_start=ny(start_day, window_start),
        window_end=ny(d, window_end),
        rth_open=hours[0],
        rth_close=hours[1],
        flatten=flatten_time(d, flatten, minutes_before_close),
        cme=session,
    )


def session_at(ts: datetime) -> CmeSession | None:
    """The CME session in progress at `ts` (open <= ts < close), or None when Globex is closed."""
    local = to_ny(ts).date()
    # A session opens the evening before its trade date: look at this year and the next.
    for y in (local.year, local.year + 1):
        yr = _year(y)
        i = bisect.bisect_right(yr.cme_opens, ts) - 1
        if i >= 0:
            s = yr.cme[yr.cme_dates[i]]
            if s.open <= ts < s.close:
                return s
    return None


def is_market_open(ts: datetime) -> bool:
    """Is CME Globex equity trading at `ts`? (Closed in the daily break, weekends, holidays.)"""
    return session_at(ts) is not None


def open_minutes(start: datetime, end: datetime) -> int:
    """How many 1-minute bars the calendar expects with open time in [start, end)."""
    total = 0
    for s in cme_sessions(to_ny(start).date() - timedelta(days=1), to_ny(end).date() + timedelta(days=1)):
        lo, hi = max(start, s.open), min(end, s.close)
        if hi > lo:
            total += int((hi - lo) // ONE_MINUTE)
    return total
