"""The candlestick chart: rendered for real, then read back part by part (axes, title, time zone,
the window, the levels as on the card, the open, the fills)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from trading import charts
from trading.calendar import trading_day
from trading.charts.style import date_num
from trading.domain import Bar, Side
from trading.marketdata.aggregation import BarArrays

DAY = trading_day(datetime(2027, 3, 16).date())  # after the March DST change: ET = UTC-4


def overnight(minutes: int, start: datetime = DAY.window_start) -> list[Bar]:
    out, price = [], 20000.0
    for i in range(minutes):
        o = price
        price += 1.75 if (i // 30) % 2 == 0 else -1.5
        out.append(
            Bar(
                "CON.F.US.MNQ.M27",
                "1m",
                start + timedelta(minutes=i),
                o,
                max(o, price) + 1,
                min(o, price) - 1,
                price,
                5,
            )
        )
    return out


def draw(bars: list[Bar], **kw: object) -> Figure:
    levels = [
        charts.Level("ONH", Decimal("20103.5")),
        charts.Level("Long entry", Decimal("20103.75"), charts.LEVEL_COLORS["Long entry"]),
    ]
    fill = charts.Mark(DAY.rth_open + timedelta(minutes=7), Decimal("20104"), Side.BUY)
    args: dict[str, object] = dict(
        tick_size=Decimal("0.25"),
        levels=levels,
        window=(DAY.window_start, DAY.window_end),
        open_at=DAY.rth_open,
        fills=[fill],
    )
    args.update(kw)
    fig = charts.candles_figure("MNQ overnight range 2027-03-16", charts.Candles.of_bars(bars), **args)  # type: ignore[arg-type]
    fig.canvas.draw()
    return fig


def test_the_chart_names_its_time_zone_and_its_candles() -> None:
    fig = draw(overnight(16 * 60))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time (ET)" and ax.get_ylabel() == "Price"
    # 960 one-minute bars are drawn as 5-minute candles, and the title says so
    assert ax.get_title() == "MNQ overnight range 2027-03-16 (5-minute candles)"
    candles = [c for c in ax.collections if not isinstance(c, PathCollection)]
    assert 16 * 60 // 5 in [len(c.get_paths()) for c in candles]  # one body per 5-minute candle
    # the axis is New York wall time: the first tick label reads 18:00 (the reopen), not 22:00 (UTC)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "18:00" in labels and "22:00" not in labels


def test_the_window_the_open_and_the_levels_are_drawn_where_they_belong() -> None:
    fig = draw(overnight(16 * 60))
    ax = fig.axes[0]
    ny_open = date_num(datetime(2027, 3, 16, 9, 30))  # 13:30 UTC drawn at 09:30 ET
    window = [p for p in ax.patches if p.get_label() == "overnight window (ET)"]
    assert len(window) == 1 and isinstance(window[0], Rectangle)
    left, width = window[0].get_x(), window[0].get_width()
    assert np.isclose(left, date_num(datetime(2027, 3, 15, 18, 0))) and np.isclose(left + width, ny_open)
    xdata = [np.asarray(ln.get_xdata(), dtype=float) for ln in ax.lines]
    assert [float(x[0]) for x in xdata if len(set(x.tolist())) == 1] == [ny_open]  # one vertical line
    # each level: a horizontal line at its price and a label at the right edge, written on the tick grid
    texts = {t.get_text(): t for t in ax.texts if isinstance(t, Annotation)}
    assert "ONH 20103.50" in texts and "Long entry 20103.75" in texts
    assert texts["ONH 20103.50"].xy == (1.0, 20103.5)  # at the right edge, at its price
    legend = ax.get_legend()
    assert legend is not None
    names = [t.get_text() for t in legend.get_texts()]
    assert names == ["overnight window (ET)", "open 09:30 ET", "ONH 20103.50", "Long entry 20103.75", "buy fill"]
    # the legend sits under the axes, never over the candles
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0


def test_fills_are_marked_at_their_time_and_price() -> None:
    fig = draw(overnight(16 * 60 + 30))
    ax = fig.axes[0]
    marks = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(marks) == 1
    ((x, y),) = np.asarray(marks[0].get_offsets(), dtype=float).tolist()
    assert np.isclose(x, date_num(datetime(2027, 3, 16, 9, 37))) and y == 20104.0


def test_bar_columns_and_bars_give_the_same_candles() -> None:
    bars = overnight(90)
    cols = BarArrays(
        np.array([int(b.start.timestamp()) * 10**9 for b in bars], dtype=np.int64),
        *(np.array([getattr(b, f) for b in bars]) for f in ("open", "high", "low", "close", "volume")),
    )
    a, b = charts.Candles.of_bars(bars), charts.Candles.of_columns(cols)
    assert a.minutes == b.minutes == 1
    assert a.frame.equals(b.frame)
    assert a.frame.index[0] == datetime(2027, 3, 15, 18, 0)  # New York wall time


def test_no_bars_says_so_and_still_renders() -> None:
    fig = charts.candles_figure("MNQ", charts.Candles.of_bars([]), tick_size=Decimal("0.25"))
    assert [t.get_text() for t in fig.axes[0].texts] == ["no bars"]
    png = charts.candles_png("MNQ", charts.Candles.of_bars([]), tick_size=Decimal("0.25"))
    assert png.startswith(b"\x89PNG")


def test_a_naive_time_is_refused_not_taken_for_utc() -> None:
    bar = Bar("C", "1m", datetime(2027, 3, 16, 14, 0), 1, 2, 0.5, 1.5, 1)
    try:
        charts.Candles.of_bars([bar])
    except ValueError as exc:
        assert "naive" in str(exc)
    else:
        raise AssertionError("a naive bar time was accepted")


def test_candles_fit_is_wider_candles_never_lost_prices() -> None:
    bars = overnight(16 * 60)
    fitted = charts.Candles.of_bars(bars).fit()
    assert fitted.minutes == 5 and len(fitted.frame) <= charts.candles.MAX_CANDLES
    assert fitted.frame["High"].max() == max(b.high for b in bars)
    assert fitted.frame["Low"].min() == min(b.low for b in bars)
    assert fitted.frame["Open"].iloc[0] == bars[0].open and fitted.frame["Close"].iloc[-1] == bars[-1].close
    assert fitted.frame["Volume"].sum() == sum(b.volume for b in bars)


def test_at_dst_the_axis_follows_new_york() -> None:
    start = datetime(2027, 3, 14, 6, 0, tzinfo=UTC)  # 01:00 EST; 02:00 EST becomes 03:00 EDT
    frame = charts.Candles.of_bars(overnight(120, start)).frame
    assert frame.index[0] == datetime(2027, 3, 14, 1, 0) and frame.index[-1] == datetime(2027, 3, 14, 3, 59)


def test_labels_of_levels_a_tick_apart_do_not_print_over_each_other() -> None:
    near = [
        charts.Level("ONH", Decimal("20103.5")),
        charts.Level("Long entry", Decimal("20103.75")),
        charts.Level("ONL", Decimal("19950")),
        charts.Level("Short entry", Decimal("19949.75")),
    ]
    fig = draw(overnight(16 * 60), levels=near)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts if isinstance(t, Annotation)]
    assert len(boxes) == 4
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two level labels overlap"
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert all(lo < float(lv.price) < hi for lv in near)  # no level on the frame's edge
