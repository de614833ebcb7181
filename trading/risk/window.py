"""A profile's trading window and flat time, in New York time on the CME calendar."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from trading.calendar import cme_session, ny, session_at, to_ny


def in_window(now: datetime, start: time, end: time) -> bool:
    """Inside the window of the session in progress. A window crossing midnight (18:00 -> 16:10) opens
    the evening the session opens (Sunday for Monday) and ends on its trade date; never outside the
    CME session itself (weekends, holidays, early closes)."""
    s = session_at(now)
    if s is None:
        return False
    opened = ny(to_ny(s.open).date(), start) if start > end else ny(s.date, start)
    return max(s.open, opened) <= now < min(s.close, ny(s.date, end))


def flat_moment(now: datetime, flat: time) -> datetime | None:
    """The flat time of the trading day `now` falls on (New York date), or of the session in progress;
    the session's close when it closes earlier. None when neither is a trading day."""
    s = session_at(now)
    d = s.date if s is not None else to_ny(now).date()
    session = s or cme_session(d)
    if session is None:
        return None
    return min(ny(d, flat), session.close)


def past_flat(now: datetime, flat: time, reopen: time | None) -> bool:
    """At or after today's flat time and before the next window opens (`reopen`, else the next session)."""
    s = session_at(now)
    local = to_ny(now)
    if s is not None and s.date != local.date():
        return False  # the evening session of the next trading day: a new window
    at = flat_moment(now, flat)
    if at is None or now < at:
        return False
    return reopen is None or local.time() < reopen or s is None


def until_flat(now: datetime, flat: time) -> timedelta | None:
    at = flat_moment(now, flat)
    return None if at is None or at <= now else at - now
