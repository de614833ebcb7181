"""The latency table as an image: every text inside its own cell, no header clipped or overlapping."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.table import Table

from trading import charts

HEADERS = ("operation", "path", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms")


def cells_hold_their_text(headers: tuple[str, ...], rows: list[list[str]]) -> None:
    fig = charts.table_figure("Latency, last 24 h", headers, rows)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    (table,) = [c for c in fig.axes[0].get_children() if isinstance(c, Table)]
    figure_box = fig.bbox
    for (row, col), cell in table.get_celld().items():
        box, text = cell.get_window_extent(renderer), cell.get_text().get_window_extent(renderer)
        assert box.x0 <= text.x0 and text.x1 <= box.x1, f"cell {row},{col} clips {cell.get_text().get_text()!r}"
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1, f"cell {row},{col} is outside the image"
    heads = sorted((table[0, c].get_window_extent(renderer) for c in range(len(headers))), key=lambda b: b.x0)
    for left, right in itertools.pairwise(heads):
        assert left.x1 <= right.x0 + 0.5  # side by side, never over each other


def test_the_latency_table_renders_cleanly() -> None:
    rows = [
        ["place_order", "rust", "1200", "1.23", "2.34", "3.45", "12.80"],
        ["place_order", "python", "1200", "1.53", "2.94", "4.45", "18.02"],
        ["cancel_order", "rust", "3", "0.90", "0.95", "0.99", "1.00"],
    ]
    cells_hold_their_text(HEADERS, rows)
    fig = charts.table_figure("Latency, last 24 h", HEADERS, rows)
    assert fig.axes[0].get_title() == "Latency, last 24 h"
    assert charts.table_png("Latency", HEADERS, rows).startswith(b"\x89PNG")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789.", max_size=30), min_size=7, max_size=7),
        min_size=1,
        max_size=6,
    )
)
def test_any_texts_fit_their_cells(rows: list[list[str]]) -> None:
    cells_hold_their_text(HEADERS, rows)


def test_no_samples_says_so() -> None:
    fig = charts.table_figure("Latency", HEADERS, [])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no samples"]
