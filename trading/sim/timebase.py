"""Time for the simulator: any clock with the project's `Clock` protocol (`trading/clock.py`:
`now()`, `sleep()`); the default is `ScaledClock`, a running `SimClock` started from the live clock."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from trading.clock import LiveClock, SimClock

ET = ZoneInfo("America/New_York")


class ClockLike(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class ScaledClock(SimClock):
    """`speed` simulated seconds per real second from `start` (default: the live clock's now). Built
    on the project's `SimClock`: `advance()` jumps forward (tests expire tokens without waiting)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        super().__init__(start or LiveClock().now(), speed=speed)


async def sleep_until(clock: ClockLike, when: datetime) -> None:
    delay = (when - clock.now()).total_seconds()
    if delay > 0:
        await clock.sleep(delay)


def cme_equity_open(at: datetime) -> bool:
    """CME Globex equity-index hours: Sunday 18:00 ET to Friday 17:00 ET, halted 17:00-18:00 ET daily.
    Holidays are not modelled here (trading/calendar.py owns them)."""
    et = at.astimezone(ET)
    wd, hour = et.weekday(), et.hour  # Monday 0 … Sunday 6
    if wd == 5:
        return False
    if wd == 6:
        return hour >= 18
    if wd == 4:
        return hour < 17
    return hour != 17


__all__ = ["ET", "UTC", "ClockLike", "ScaledClock", "cme_equity_open", "sleep_until", "timezone"]
