"""The cumulative P&L on a time axis (New York time), in dollars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from trading.charts.style import DOWN, ET, NEUTRAL, RENDER, UP, blank, date_num, et_naive, figure, png, time_axis

Point = tuple[date | datetime, Decimal]  # (when, P&L of that trade or day); a datetime must be aware


def dollars(value: float, _pos: object = None) -> str:
    """-1234.5 -> "-$1,234.50"; whole amounts without cents."""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    return f"{sign}${amount:,.0f}" if amount == int(amount) else f"{sign}${amount:,.2f}"


def _when(at: date | datetime) -> datetime:
    if isinstance(at, datetime):
        return et_naive(at)
    return datetime(at.year, at.month, at.day)


def pnl_figure(title: str, points: Sequence[Point]) -> Figure:
    """A step line of the running total after each point, at the point's time: trades close together
    stay close together, a quiet hour stays wide. A day's points (dates) are drawn per day."""
    fig = figure(9, 4.2)
    ax = fig.add_subplot()
    ordered = sorted(points, key=lambda p: _when(p[0]))
    xs = [date_num(_when(at)) for at, _ in ordered]
    total, ys = Decimal(0), []
    for _, value in ordered:
        total += value
        ys.append(float(total))
    by_day = all(not isinstance(at, datetime) for at, _ in ordered)
    if xs:
        color = UP if total >= 0 else DOWN
        ax.step(xs, ys, where="post", color=color, linewidth=1.6, marker="o", markersize=3)
        ax.fill_between(xs, ys, 0, step="post", color=color, alpha=0.15)
        ax.annotate(dollars(float(total)), (xs[-1], ys[-1]), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=9, color=color)  # fmt: skip
        time_axis(ax, "%m-%d" if by_day else "%m-%d %H:%M")
    else:
        blank(fig, "no trades")
    ax.axhline(0, color=NEUTRAL, linewidth=0.8)
    ax.yaxis.set_major_formatter(FuncFormatter(dollars))
    ax.set_ylabel("Cumulative P&L ($)")
    ax.set_xlabel(f"Trading day ({ET})" if by_day and xs else f"Time ({ET})")
    ax.set_title(title)
    ax.grid(alpha=0.25)
    fig.autofmt_xdate(rotation=20)
    return fig


def pnl_png(title: str, points: Sequence[Point]) -> bytes:
    with RENDER:
        return png(pnl_figure(title, points))
