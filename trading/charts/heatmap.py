"""A metric over two parameters (the optimizer's heatmap): one cell per pair of values, coloured from red
(worst) through yellow to green (best), each cell labelled with its value when the grid is small enough
to read; a pair no run tried is left blank (grey); an infinite value (a profit factor without a losing
trade) is drawn in the best colour and labelled "inf"."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

from trading.charts.style import NEUTRAL, RENDER, blank, figure, png

LABEL_CELLS = 20  # at most this many rows and columns get a value written in each cell


def heatmap_figure(
    title: str,
    x: tuple[str, Sequence[str]],
    y: tuple[str, Sequence[str]],
    cells: Sequence[Sequence[float | None]],
    *,
    metric: str,
    fmt: Callable[[float], str],
    higher_is_better: bool = True,
    center: float | None = None,
) -> Figure:
    """`cells[row][col]`: the value at y[row], x[col] (None: not run). With a `center` (0 for P&L, 1 for a
    profit factor) the scale turns from red to green there, whatever the values span, so a small profit
    never reads as a loss; without one (drawdown) it runs from the best to the worst value, reversed
    for a metric where lower is better."""
    (x_name, x_values), (y_name, y_values) = x, y
    fig = figure(max(6.0, 1.0 + 0.75 * len(x_values)), max(4.0, 1.4 + 0.45 * len(y_values)))
    ax = fig.add_subplot()
    # +inf (a profit factor without a loss) is drawn in the best colour and labelled "inf"; None and -inf blank
    grid = np.array([[np.nan if v is None or v == -math.inf else v for v in row] for row in cells], dtype=float)
    finite = grid[np.isfinite(grid)]
    if finite.size == 0 and not np.isposinf(grid).any():
        blank(fig, "no values")
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        cmap = "RdYlGn" if higher_is_better else "RdYlGn_r"
        norm: Normalize
        if center is not None:
            reach = max(abs(lo - center), abs(hi - center)) or 1.0
            norm = TwoSlopeNorm(center, center - reach, center + reach)
        else:
            norm = Normalize(lo, hi if hi > lo else lo + 1)
        best = hi if higher_is_better else lo
        shown = np.where(np.isposinf(grid), best, grid)
        image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto", origin="lower")
        ax.set_facecolor(NEUTRAL)
        bar = fig.colorbar(image, ax=ax)
        bar.set_label(metric)
        bar.ax.yaxis.set_major_formatter(lambda v, _pos: fmt(float(v)))
        if len(x_values) <= LABEL_CELLS and len(y_values) <= LABEL_CELLS:
            for r, row in enumerate(grid):
                for c, v in enumerate(row):
                    if not math.isnan(v):
                        label = "inf" if math.isinf(v) else fmt(float(v))
                        ax.text(c, r, label, ha="center", va="center", fontsize=8, color="black")
    ax.set_xticks(range(len(x_values)), labels=list(x_values))
    ax.set_yticks(range(len(y_values)), labels=list(y_values))
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(title)
    return fig


def heatmap_png(title: str, x: tuple[str, Sequence[str]], y: tuple[str, Sequence[str]],
                cells: Sequence[Sequence[float | None]], **kwargs: object) -> bytes:  # fmt: skip
    with RENDER:
        return png(heatmap_figure(title, x, y, cells, **kwargs))  # type: ignore[arg-type]
