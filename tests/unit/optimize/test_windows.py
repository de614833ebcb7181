"""Walk-forward windows: in-sample then out-of-sample, rolled by the out-of-sample months; the
out-of-sample spans tile the range after the first in-sample span, without a gap or an overlap."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.optimize.windows import Window, WindowError, add_months, parse, windows


def test_six_one_over_a_year() -> None:
    ws = windows(date(2025, 1, 1), date(2025, 12, 31), 6, 1)
    assert len(ws) == 6
    assert ws[0] == Window(date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 31))
    assert ws[-1] == Window(date(2025, 6, 1), date(2025, 11, 30), date(2025, 12, 1), date(2025, 12, 31))


def test_the_last_out_of_sample_span_is_cut_at_the_end() -> None:
    ws = windows(date(2025, 1, 1), date(2025, 4, 15), 2, 1)
    assert [(w.oos_start, w.oos_end) for w in ws] == [
        (date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 4, 15)),
    ]  # fmt: skip


def test_month_ends_clamp() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_a_range_too_short_is_refused() -> None:
    with pytest.raises(WindowError, match="2025-01-01 to 2025-05-31 is shorter than 6 months in sample"):
        windows(date(2025, 1, 1), date(2025, 5, 31), 6, 1)


@pytest.mark.parametrize("text", ["6", "6:0", "0:1", "a:b", "6:1:1", "-6:1", "121:1", ""])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(WindowError, match="write IS:OOS in whole months"):
        parse(text)


def test_months_are_read() -> None:
    assert parse("6:1") == (6, 1) and parse("12:3") == (12, 3)


@given(
    st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    st.integers(1, 800),
    st.integers(1, 24),
    st.integers(1, 12),
)
def test_out_of_sample_spans_tile_the_range(start: date, days: int, is_m: int, oos_m: int) -> None:
    end = start + timedelta(days=days)
    try:
        ws = windows(start, end, is_m, oos_m)
    except WindowError:
        assert add_months(start, is_m) > end
        return
    assert ws[0].is_start == start and ws[0].oos_start == add_months(start, is_m)
    for w in ws:
        assert w.is_start <= w.is_end < w.oos_start <= w.oos_end <= end
        assert w.is_end + timedelta(days=1) == w.oos_start
    for a, b in itertools.pairwise(ws):
        assert a.oos_end + timedelta(days=1) == b.oos_start  # no gap, no overlap
        assert a.oos_end < end
    assert ws[-1].oos_end == end or add_months(ws[-1].oos_start, oos_m) - timedelta(days=1) == ws[-1].oos_end
    assert add_months(start, len(ws) * oos_m + is_m) > end  # no window left out
