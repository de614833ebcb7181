"""The wall clock, moved into a trading day's open hours for the benches that run a real engine.

The engine's risk screen refuses new orders outside trading hours, which always end at the day's
flatten time (15:55 New York, earlier before an early close) whatever `[risk] trading_end` says; and
at night, on a weekend or a holiday there is no trading day at all. A bench run then would measure
nothing. `MarketHoursClock` is the wall clock when `make bench` runs inside open hours, else the wall
clock shifted back by a fixed amount to 11:00 New York of the latest trading day: it runs at the wall
clock's speed, so every span the benches measure (wall-clock ns stamped by the stream and the
executor, never this clock) is untouched; only the engine's idea of the hour moves."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from trading.calendar import flatten_time, is_trading_day, ny, previous_trading_day, to_ny
from trading.clock import LiveClock

OPEN = time(9, 30)
MIDDAY = time(11, 0)
MARGIN = timedelta(hours=1)  # a full `make bench` takes under 20 minutes: still inside when it ends


def shift_into_hours(now: datetime) -> timedelta:
    """How far to move `now` back so that it falls inside open hours (09:30 New York to an hour before
    the day's flatten time, on a trading day); zero when it already does."""
    day = to_ny(now).date()
    if is_trading_day(day) and ny(day, OPEN) <= now < flatten_time(day) - MARGIN:
        return timedelta(0)
    if not (is_trading_day(day) and now >= ny(day, MIDDAY)):
        day = previous_trading_day(day)
    return now - ny(day, MIDDAY)


class MarketHoursClock(LiveClock):
    """The wall clock, shifted once (at construction) into a trading day's open hours if needed."""

    def __init__(self, now: datetime | None = None) -> None:
        self.shift = shift_into_hours(now if now is not None else datetime.now(UTC))

    def now(self) -> datetime:
        return datetime.now(UTC) - self.shift
