"""The P&L curve: on a time axis in New York time, in dollars, rendered and read back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from trading import charts
from trading.charts.pnl import dollars
from trading.charts.style import date_num


def test_trades_sit_at_their_new_york_times_and_the_axis_is_dollars() -> None:
    points = [
        (datetime(2027, 3, 16, 13, 32, tzinfo=UTC), Decimal("45.63")),  # 09:32 ET
        (datetime(2027, 3, 16, 13, 35, tzinfo=UTC), Decimal("-0.37")),
        (datetime(2027, 3, 16, 15, 50, tzinfo=UTC), Decimal("-20.00")),  # 11:50 ET: far to the right
    ]
    fig = charts.pnl_figure("P&L 2027-03-16", points)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_title() == "P&L 2027-03-16"
    assert ax.get_xlabel() == "Time (ET)" and ax.get_ylabel() == "Cumulative P&L ($)"
    step = ax.lines[0]
    xs = [float(x) for x in np.asarray(step.get_xdata())]
    wall = [datetime(2027, 3, 16, 9, 32), datetime(2027, 3, 16, 9, 35), datetime(2027, 3, 16, 11, 50)]
    assert xs == [date_num(t) for t in wall]
    assert [float(y) for y in np.asarray(step.get_ydata())] == [
        45.63,
        45.26,
        25.26,
    ]  # running total, spaced by time not by count
    assert all(t.get_text().startswith(("$", "-$")) for t in ax.get_yticklabels() if t.get_text())
    assert [t.get_text() for t in ax.texts] == ["$25.26"]  # the final total, labelled


def test_days_are_drawn_per_day() -> None:
    fig = charts.pnl_figure("P&L 30 days", [(date(2027, 3, 2), Decimal("10")), (date(2027, 3, 1), Decimal("-4"))])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Trading day (ET)"
    assert [float(y) for y in np.asarray(ax.lines[0].get_ydata())] == [
        -4.0,
        6.0,
    ]  # in date order, whatever order they came in


def test_no_trades_says_so() -> None:
    fig = charts.pnl_figure("P&L", [])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no trades"]
    assert charts.pnl_png("P&L", []).startswith(b"\x89PNG")


@given(st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False))
def test_dollars_reads_back_as_the_amount(amount: Decimal) -> None:
    text = dollars(float(amount))
    sign = -1 if text.startswith("-") else 1
    assert Decimal(text.lstrip("-").removeprefix("$").replace(",", "")) * sign == amount
