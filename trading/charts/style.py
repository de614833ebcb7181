"""What every chart shares: the Agg backend, colours, New York time on the axes, PNG output."""

from __future__ import annotations

import io
import threading
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # no display: select before the first figure is made

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from trading.calendar import to_ny

UP, DOWN, RANGE, OPEN, NEUTRAL = "#26a69a", "#ef5350", "#1f77b4", "#7f7f7f", "#999999"
BUY, SELL = "#2e7d32", "#c62828"
ET = "ET"  # the label every time axis carries
DPI = 100
# pyplot (which mplfinance draws through) keeps global state: one chart is rendered at a time, whichever
# thread asks (the engine renders off its event loop, the bot in its own worker threads).
RENDER = threading.Lock()


def et_naive(ts: datetime) -> datetime:
    """A timestamp as New York wall time without a zone: what the axes plot (labelled ET), so a chart
    reads the same on any machine. A naive timestamp is refused (`to_ny`): no silent UTC."""
    return to_ny(ts).replace(tzinfo=None)


def date_num(ts: datetime) -> float:
    """A naive (New York wall) time as matplotlib's date number: the x of every time axis here."""
    return float(mdates.date2num(ts))  # type: ignore[no-untyped-call]


def time_axis(ax: Axes, fmt: str | None = None) -> None:
    """Ticks at round times, labelled concisely (18:00 ... Mar-02 ... 09:00), or with `fmt`."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    if fmt is None:
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))  # type: ignore[no-untyped-call]
    else:
        ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))  # type: ignore[no-untyped-call]


def figure(width_in: float, height_in: float) -> Figure:
    """A figure drawn by Agg (the renderer the PNG comes from), outside pyplot's global figure list."""
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed (pyplot keeps no reference)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def blank(fig: Figure, text: str) -> None:
    """An empty chart says why it is empty."""
    for ax in fig.axes:
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=NEUTRAL)
