"""PNG charts (matplotlib, Agg backend: no display): candlesticks with the overnight range, the P&L
curve of a day or period, and the latency table. Each returns PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import matplotlib
import matplotlib.patches
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from trading.domain import Bar

matplotlib.use("Agg")  # no display: select before the first figure is made

UP, DOWN, RANGE = "#2ecc71", "#e74c3c", "#3498db"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def candles(
    title: str,
    bars: Sequence[Bar],
    *,
    on_high: Decimal | None = None,
    on_low: Decimal | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> bytes:
    """Candlesticks; the overnight high/low as horizontal lines and the overnight window shaded."""
    fig, ax = plt.subplots(figsize=(10, 5))
    xs = list(range(len(bars)))
    for x, b in zip(xs, bars, strict=True):
        color = UP if b.close >= b.open else DOWN
        ax.vlines(x, b.low, b.high, color=color, linewidth=1)
        body = max(abs(b.close - b.open), 1e-9)
        ax.add_patch(
            matplotlib.patches.Rectangle((x - 0.35, min(b.open, b.close)), 0.7, body, color=color, linewidth=0)
        )
    if window is not None and bars:
        inside = [x for x, b in zip(xs, bars, strict=True) if window[0] <= b.start < window[1]]
        if inside:
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color=RANGE, alpha=0.08, label="overnight window")
    for level, name in ((on_high, "ONH"), (on_low, "ONL")):
        if level is not None:
            ax.axhline(float(level), color=RANGE, linestyle="--", linewidth=1)
            ax.annotate(f"{name} {level}", (0, float(level)), color=RANGE, fontsize=8, va="bottom")
    if bars:
        step = max(1, len(bars) // 8)
        ax.set_xticks(xs[::step], [b.start.strftime("%m-%d %H:%M") for b in bars[::step]], rotation=30, fontsize=7)
    else:
        ax.text(0.5, 0.5, "no bars", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.grid(alpha=0.2)
    return _png(fig)


def pnl_curve(title: str, points: Sequence[tuple[date | datetime | str, Decimal]]) -> bytes:
    """Cumulative P&L over the given points (per trade or per day)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    total = Decimal(0)
    xs: list[int] = []
    ys: list[float] = []
    for i, (_, value) in enumerate(points):
        total += value
        xs.append(i)
        ys.append(float(total))
    if xs:
        ax.plot(xs, ys, color=UP if total >= 0 else DOWN, marker="o", markersize=3)
        ax.fill_between(xs, ys, 0, color=UP if total >= 0 else DOWN, alpha=0.15)
    else:
        ax.text(0.5, 0.5, "no trades", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_title(title)
    ax.grid(alpha=0.2)
    if xs:
        step = max(1, len(xs) // 8)
        labels = [str(at)[:16] for at, _ in points]
        ax.set_xticks(xs[::step], labels[::step], rotation=30, fontsize=7)
    return _png(fig)


def latency_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.35 * max(1, len(rows))))
    ax.axis("off")
    if rows:
        tbl = ax.table(cellText=[list(r) for r in rows], colLabels=list(headers), loc="center")
        tbl.auto_set_font_size(False)
        tbl.set_fontsize(9)
    else:
        ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    return _png(fig)
