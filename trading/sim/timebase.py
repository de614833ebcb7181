"""Time for the simulator. Written against the project's `Clock` protocol (`trading/clock.py`:
`now()`, `sleep()`); `ScaledClock` is the default: wall time, optionally accelerated."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

ET = ZoneInfo("America/New_York")


class ClockLike(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class ScaledClock:
    """`speed` simulated seconds per real second, starting at `start` (default: the wall clock now)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        self.speed = speed
        self._t0 = time.monotonic()
        self._start = start or datetime.now(UTC)
        self._shift = timedelta(0)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed) + self._shift

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def advance(self, seconds: float) -> None:
        """Jump forward (tests: expire a token without waiting)."""
        self._shift += timedelta(seconds=seconds)


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
