"""The optimizer's heatmap: one cell per pair of values, labelled, a pair not run left blank, the colour
scale turning at its centre (a small profit never drawn red)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from trading.charts.heatmap import heatmap_figure, heatmap_png
from trading.charts.pnl import dollars

X = ("stop_atr_mult", ["1.0", "1.5", "2.0"])
Y = ("target_atrd_mult", ["1.5", "2.5"])


def test_cells_are_labelled_and_a_missing_pair_is_blank() -> None:
    cells: list[list[float | None]] = [[-120.0, 40.0, None], [10.5, 300.0, 75.0]]
    fig = heatmap_figure("net P&L", X, Y, cells, metric="net P&L", fmt=dollars, center=0.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "stop_atr_mult" and ax.get_ylabel() == "target_atrd_mult"
    assert [t.get_text() for t in ax.get_xticklabels()] == X[1]
    assert [t.get_text() for t in ax.get_yticklabels()] == Y[1]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["-$120", "$40", "$10.50", "$300", "$75"])
    image = ax.images[0]
    data = image.get_array()
    assert data is not None
    assert bool(np.ma.getmaskarray(data)[0][2]) and not np.ma.getmaskarray(data)[1].any()
    norm = image.norm
    assert isinstance(norm, TwoSlopeNorm) and norm.vcenter == 0.0 and norm.vmin == -300.0 and norm.vmax == 300.0
    assert fig.axes[1].get_ylabel() == "net P&L"  # the colour bar says what it measures


def test_all_profits_stay_on_the_green_side() -> None:
    fig = heatmap_figure("net", X, Y, [[10.0, 20.0, 30.0], [15.0, 25.0, 35.0]], metric="net", fmt=dollars, center=0.0)
    norm = fig.axes[0].images[0].norm
    assert isinstance(norm, TwoSlopeNorm) and (norm.vmin, norm.vcenter, norm.vmax) == (-35.0, 0.0, 35.0)


def test_nothing_to_draw_says_so() -> None:
    fig = heatmap_figure("dd", X, Y, [[None] * 3, [None] * 3], metric="max drawdown", fmt=dollars)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no values"]
    assert heatmap_png("dd", X, Y, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], metric="max drawdown", fmt=dollars,
                       higher_is_better=False).startswith(b"\x89PNG")  # fmt: skip


def test_an_infinite_profit_factor_is_drawn_best_and_says_inf() -> None:
    cells: list[list[float | None]] = [[0.8, 1.6, float("inf")], [None, 2.0, 1.1]]
    fig = heatmap_figure("pf", X, Y, cells, metric="profit factor", fmt=lambda v: f"{v:.2f}", center=1.0)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["0.80", "1.10", "1.60", "2.00", "inf"]
    data = ax.images[0].get_array()
    assert data is not None and float(data[0][2]) == 2.0  # the best finite value's colour
