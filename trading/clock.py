"""Time, from one place: strategies, risk, sessions and jobs ask a `Clock`, never `datetime.now()`.

`LiveClock` is the only code that reads the wall clock. `SimClock` is set and advanced by a test, a
backtest or the simulator; with a `speed` it also runs on by itself, `speed` simulated seconds per
real second, so a simulated session can be watched fast.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ns(value: int) -> datetime:
    """The UTC time of `value` ns since the epoch (to the microsecond, as datetime holds it)."""
    return EPOCH + timedelta(microseconds=value // 1000)


def _require_utc(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {t.isoformat()})")
    return t.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep_until(self, t: datetime) -> None:
        """Return once `now() >= t` (at once if it already is)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of this clock's time."""
        ...


class LiveClock:
    """The wall clock."""

    # asyncio timers drift and the wall clock can be stepped (NTP): re-check at most this often.
    _MAX_NAP_S = 60.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, t: datetime) -> None:
        t = _require_utc(t, "a wake-up time")
        # No event announces that the wall clock reached t: polling it (coarsely) is the point.
        while (remaining := (t - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(remaining, self._MAX_NAP_S))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class SimClock:
    """A settable clock. Without `speed` time moves only by `set`/`advance`; with it, it also runs.

    Sleepers are woken whenever time passes their deadline, whichever way it moved.
    """

    def __init__(self, start: datetime, *, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._base = _require_utc(start, "the start time")
        # monotonic, not the wall clock: only the elapsed real time matters when running at a speed.
        self._base_real = time.monotonic()
        self._speed = speed
        # Each sleeper's future -> (its deadline, arrival order): woken in that order, so that two
        # sleepers due in the same step run earliest-deadline first, ties first-come first.
        self._waiters: dict[asyncio.Future[None], tuple[datetime, int]] = {}
        self._arrivals = 0

    @property
    def speed(self) -> float | None:
        return self._speed

    def now(self) -> datetime:
        if self._speed is None:
            return self._base
        return self._base + timedelta(seconds=(time.monotonic() - self._base_real) * self._speed)

    def set(self, t: datetime) -> None:
        """Jump to `t`. Going backwards is refused: nothing downstream expects time to reverse."""
        t = _require_utc(t, "the new time")
        current = self.now()
        if t < current:
            raise ValueError(f"a clock cannot go back: now {current.isoformat()}, asked {t.isoformat()}")
        self._base, self._base_real = t, time.monotonic()
        self._wake(every=False)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by `delta` (seconds or a timedelta); the new time. Sleepers run at their next turn."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError(f"a clock cannot go back (advance by {step})")
        self.set(self.now() + step)
        return self._base

    async def advance_and_settle(self, delta: timedelta | float) -> datetime:
        """`advance`, then let every task woken by it run until it waits again."""
        t = self.advance(delta)
        await settle()
        return t

    def set_speed(self, speed: float | None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._base, self._base_real = self.now(), time.monotonic()
        self._speed = speed
        self._wake(every=True)  # each sleeper recomputes its real-time timeout

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock (lets a driver wait until everyone is asleep)."""
        return len(self._waiters)

    def _wake(self, *, every: bool) -> None:
        now = self.now()
        due = sorted(((d, n, f) for f, (d, n) in self._waiters.items() if every or d <= now), key=lambda w: w[:2])
        for _, _, fut in due:
            del self._waiters[fut]
            if not fut.done():
                fut.set_result(None)

    async def sleep_until(self, t: datetime) -> None:
        t = _require_utc(t, "a wake-up time")
        loop = asyncio.get_running_loop()
        while (remaining := (t - self.now()).total_seconds()) > 0:
            fut: asyncio.Future[None] = loop.create_future()
            self._arrivals += 1
            self._waiters[fut] = (t, self._arrivals)
            try:
                # Woken by set/advance; when running at a speed, also by real time passing.
                timeout = remaining / self._speed if self._speed is not None else None
                await asyncio.wait({fut}, timeout=timeout)
            finally:
                self._waiters.pop(fut, None)
                if not fut.done():
                    fut.cancel()

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + timedelta(seconds=max(seconds, 0.0)))


async def settle(rounds: int = 20) -> None:
    """Give every ready task a turn, a few times over (lets a chain of wake-ups run to its next wait)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
