"""Candlesticks (mplfinance) with the overnight window, the strategy's levels, the open and the fills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import matplotlib
import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from trading.calendar import TradingDay
from trading.charts.style import (
    BUY,
    DOWN,
    ET,
    OPEN,
    RANGE,
    RENDER,
    SELL,
    UP,
    blank,
    date_num,
    et_naive,
    figure,
    png,
    time_axis,
)
from trading.domain import Bar, Side, tick_text

MAX_CANDLES = 300  # more bars than this are drawn as wider candles (5, 15, 30, 60 minutes)
WIDER = (5, 15, 30, 60)
COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
STYLE = mpf.make_mpf_style(
    base_mpf_style="default",
    marketcolors=mpf.make_marketcolors(up=UP, down=DOWN, edge="inherit", wick="inherit", volume="in"),
    gridstyle=":",
    gridcolor="#dddddd",
    facecolor="white",
    # weights the bundled DejaVu font has (the base style's "medium"/"semibold" log a findfont warning per draw)
    rc={"font.weight": "normal", "axes.labelweight": "bold", "figure.titleweight": "bold", "font.size": 10.0},
)


class BarColumns(Protocol):
    """Bars as columns (`marketdata.aggregation.BarArrays`): start times in ns since the epoch (UTC)."""

    @property
    def ts(self) -> Any: ...
    @property
    def open(self) -> Any: ...
    @property
    def high(self) -> Any: ...
    @property
    def low(self) -> Any: ...
    @property
    def close(self) -> Any: ...
    @property
    def volume(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Candles:
    """OHLCV rows indexed by their open time in New York wall time, and the minutes each spans."""

    frame: pd.DataFrame
    minutes: int

    @classmethod
    def of_bars(cls, bars: Sequence[Bar]) -> Candles:
        index = pd.DatetimeIndex([et_naive(b.start) for b in bars])
        rows = [[b.open, b.high, b.low, b.close, b.volume] for b in bars]
        frame = pd.DataFrame(rows, index=index, columns=COLUMNS, dtype=float)
        return cls(frame, _minutes(frame, bars[0].timeframe if bars else "1m"))

    @classmethod
    def of_columns(cls, bars: BarColumns) -> Candles:
        utc = pd.to_datetime(np.asarray(bars.ts, dtype="int64"), unit="ns", utc=True)
        index = pd.DatetimeIndex(utc.tz_convert("America/New_York").tz_localize(None))
        data = {name: np.asarray(getattr(bars, name.lower()), dtype=float) for name in COLUMNS}
        frame = pd.DataFrame(data, index=index, columns=COLUMNS)
        return cls(frame, _minutes(frame, "1m"))

    def fit(self, most: int = MAX_CANDLES) -> Candles:
        """At most `most` candles: resampled to the first of 5/15/30/60 minutes that fits."""
        if len(self.frame) <= most:
            return self
        for minutes in (m for m in WIDER if m > self.minutes):
            wide = self.frame.resample(f"{minutes}min", label="left", closed="left").agg(
                {"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"}
            )
            wide = wide.dropna(subset=["Open"])
            if len(wide) <= most or minutes == WIDER[-1]:
                return Candles(wide, minutes)
        return self


def _minutes(frame: pd.DataFrame, timeframe: str) -> int:
    units = {"m": 1, "h": 60, "d": 1440}
    if timeframe[:-1].isdigit() and timeframe[-1] in units:
        return int(timeframe[:-1]) * units[timeframe[-1]]
    return 1


@dataclass(frozen=True, slots=True)
class Level:
    """A horizontal price line, labelled "<name> <price>" on the contract's tick grid (as on the card)."""

    name: str
    price: Decimal
    color: str = RANGE


@dataclass(frozen=True, slots=True)
class Mark:
    """A fill: where and when, and which side."""

    at: datetime
    price: Decimal
    side: Side
    label: str = ""


def _x(ts: datetime) -> float:
    return date_num(et_naive(ts))


def candles_figure(
    title: str,
    candles: Candles,
    *,
    tick_size: Decimal,
    levels: Sequence[Level] = (),
    window: tuple[datetime, datetime] | None = None,
    open_at: datetime | None = None,
    fills: Sequence[Mark] = (),
) -> Figure:
    """The chart as a Figure: candles on an ET time axis; `window` shaded; each level a dashed line with
    its label at the right edge, outside the candles; `open_at` a dotted vertical line; fills as
    triangles (up for a buy, down for a sell); the legend under the axes, never over the bars."""
    fitted = candles.fit()
    if fitted.frame.empty:
        fig = figure(11, 5)
        ax = fig.add_subplot()
        blank(fig, "no bars")
    else:
        with matplotlib.rc_context():  # mplfinance applies its style to the global rcParams: keep it here
            fig, axes = mpf.plot(
                fitted.frame,
                type="candle",
                style=STYLE,
                returnfig=True,
                show_nontrading=True,  # a real time axis: the shading, the open and the fills sit at their times
                figsize=(11, 5.5),
                datetime_format="%m-%d %H:%M",
                xrotation=0,
                ylabel="Price",
                warn_too_much_data=10 * MAX_CANDLES,
            )
        ax = axes[0]
        time_axis(ax)
    ax.set_title(f"{title} ({fitted.minutes}-minute candles)" if not fitted.frame.empty else title)
    ax.set_xlabel(f"Time ({ET})")
    if window is not None:
        ax.axvspan(_x(window[0]), _x(window[1]), color=RANGE, alpha=0.08, label=f"overnight window ({ET})")
    if open_at is not None:
        ax.axvline(_x(open_at), color=OPEN, linestyle=":", linewidth=1.2, label=f"open {et_naive(open_at):%H:%M} {ET}")
    if levels:
        prices = [float(lv.price) for lv in levels]
        lo, hi = ax.get_ylim()
        lo, hi = min(lo, *prices), max(hi, *prices)
        pad = (hi - lo) * 0.04 or 1.0
        ax.set_ylim(lo - pad, hi + pad)  # every level inside the frame, none on its edge
    for lv, y in zip(levels, _label_heights(ax, levels), strict=True):
        text = f"{lv.name} {tick_text(lv.price, tick_size)}"
        ax.axhline(float(lv.price), color=lv.color, linestyle="--", linewidth=1, label=text)
        ax.annotate(
            text, xy=(1.0, float(lv.price)), xycoords=("axes fraction", "data"), xytext=(1.01, y),
            textcoords=("axes fraction", "data"), va="center", ha="left", fontsize=8, color=lv.color,
        )  # fmt: skip
    for side in (Side.BUY, Side.SELL):
        marks = [f for f in fills if f.side is side]
        if marks:
            ax.scatter(
                [_x(f.at) for f in marks], [float(f.price) for f in marks], s=70, zorder=5,
                marker="^" if side is Side.BUY else "v", color=BUY if side is Side.BUY else SELL,
                edgecolors="black", linewidths=0.5, label=f"{side.value} fill",
            )  # fmt: skip
    if window is not None or open_at is not None or levels or fills:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False, fontsize=8)
    return fig


def _label_heights(ax: Any, levels: Sequence[Level]) -> list[float]:
    """Where each level's label goes at the right edge: at its price, or pushed just clear of the label
    below it (entries sit a tick or two from the range: their labels would print over each other)."""
    lo, hi = ax.get_ylim()
    gap = (hi - lo) * 0.045  # about one label's height on this chart
    order = sorted(range(len(levels)), key=lambda i: levels[i].price)
    heights = [0.0] * len(levels)
    last: float | None = None
    for i in order:
        y = float(levels[i].price)
        y = y if last is None else max(y, last + gap)
        heights[i] = last = y
    return heights


def candles_png(title: str, candles: Candles, **kwargs: Any) -> bytes:
    with RENDER:
        return png(candles_figure(title, candles, **kwargs))


@runtime_checkable
class DrawsLevels(Protocol):
    """A strategy whose levels belong on the range chart (the overnight range: ONH, ONL, the entries)."""

    def chart_levels(self, symbol: str, day: TradingDay, until: datetime) -> list[tuple[str, Decimal]]: ...


# Each line keeps its colour on every chart: the range in blue, the buy side green, the sell side red.
LEVEL_COLORS = {"ONH": RANGE, "ONL": RANGE, "Long entry": BUY, "Short entry": SELL}
