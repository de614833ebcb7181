"""A table as an image (the latency report), each column as wide as its widest text."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from trading.charts.style import DPI, RENDER, blank, figure, png

FONT = 9
PAD_IN = 0.16  # inches of air around the text of a cell
ROW_IN = 0.28
MARGIN_IN = 0.2


def _width_in(text: str, bold: bool) -> float:
    """The text's rendered width in inches (measured by the Agg renderer the PNG is drawn with)."""
    renderer = RendererAgg(1, 1, DPI)  # type: ignore[no-untyped-call]
    font = FontProperties(size=FONT, weight="bold" if bold else "normal")
    w, _h, _d = renderer.get_text_width_height_descent(text, font, ismath=False)  # type: ignore[no-untyped-call]
    return float(w) / DPI


def table_figure(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Figure:
    """Each column as wide as its widest cell (the bold header included) plus air, the figure as wide
    as its columns: no header is clipped and no two overlap, however long the texts."""
    cols = len(headers)
    cells = [[str(c) for c in r][:cols] + [""] * (cols - len(r)) for r in rows]
    widths = [
        max([_width_in(str(h), True)] + [_width_in(r[i], False) for r in cells]) + PAD_IN for i, h in enumerate(headers)
    ]
    table_w = sum(widths)
    fig_w = max(table_w, _width_in(title, True) * 1.25) + 2 * MARGIN_IN
    fig_h = 0.6 + ROW_IN * (len(cells) + 1)
    fig = figure(fig_w, fig_h)
    ax = fig.add_axes((MARGIN_IN / fig_w, 0.02, table_w / fig_w, 1 - 0.5 / fig_h))
    ax.axis("off")
    ax.set_title(title, fontsize=FONT + 2)
    if cells and cols:
        tbl = ax.table(
            cellText=cells,
            colLabels=[str(h) for h in headers],
            colWidths=[w / table_w for w in widths],
            loc="upper center",
            cellLoc="center",
        )
        tbl.auto_set_font_size(False)
        tbl.set_fontsize(FONT)
        for (row, _col), cell in tbl.get_celld().items():
            cell.set_height(ROW_IN / (fig_h * (1 - 0.5 / fig_h)))
            if row == 0:
                cell.set_text_props(weight="bold")
                cell.set_facecolor("#eeeeee")
    else:
        blank(fig, "no samples")
    return fig


def table_png(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    with RENDER:
        return png(table_figure(title, headers, rows))
