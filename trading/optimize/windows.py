"""Walk-forward windows: an in-sample span of IS months followed by an out-of-sample span of OOS months,
the pair rolled forward by OOS months, so the out-of-sample spans follow one another without a gap or an
overlap.

Choice: the last window's out-of-sample span is cut at the end of the range (a shorter last test rather
than none); a window whose out-of-sample span would start after the range is not made.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


class WindowError(ValueError):
    """Walk-forward months that cannot be used over the range asked."""


@dataclass(frozen=True, slots=True)
class Window:
    """Both spans as first and last day, inclusive."""

    is_start: date
    is_end: date
    oos_start: date
    oos_end: date


def add_months(d: date, months: int) -> date:
    """`d` moved by whole months, the day clamped to the month's last (Jan 31 + 1 month = Feb 28/29)."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def parse(text: str) -> tuple[int, int]:
    """`IS:OOS` in months, e.g. 6:1."""
    parts = text.split(":")
    try:
        is_m, oos_m = (int(p) for p in parts) if len(parts) == 2 else (0, 0)
    except ValueError:
        is_m = oos_m = 0
    if is_m < 1 or oos_m < 1 or is_m > 120 or oos_m > 120:
        raise WindowError(f"--walk-forward {text!r}: write IS:OOS in whole months from 1 to 120, e.g. 6:1")
    return is_m, oos_m


def windows(start: date, end: date, is_months: int, oos_months: int) -> list[Window]:
    out: list[Window] = []
    k = 0
    while True:
        is_start = add_months(start, k * oos_months)
        oos_start = add_months(start, k * oos_months + is_months)
        if oos_start > end:
            break
        oos_end = min(end, add_months(start, k * oos_months + is_months + oos_months) - ONE_DAY)
        out.append(Window(is_start, oos_start - ONE_DAY, oos_start, oos_end))
        k += 1
    if not out:
        raise WindowError(
            f"--walk-forward {is_months}:{oos_months}: {start} to {end} is shorter than {is_months} months in "
            "sample and a day out of sample: widen --from/--to or shorten the months"
        )
    return out
