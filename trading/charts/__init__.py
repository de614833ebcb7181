"""Every chart a trader sees, in one place (PNG bytes, matplotlib's Agg backend: no display).

- `candles`: candlesticks drawn by mplfinance (the charting library made for markets) with the overnight
  window shaded, the strategy's levels drawn and labelled as on the range card, the 09:30 open marked and
  fills marked. The engine's pre-open range chart and `/market chart` both draw through it.
- `pnl`: the cumulative P&L on a time axis, in dollars.
- `table`: a table (the latency report) sized to its text, so no header is clipped.

Every time axis is New York time and says so ("ET"); UTC stays in storage. Each builder returns the
matplotlib Figure (`*_figure`) so a test can inspect its parts, and a `*_png` twin for the callers.
"""

from trading.charts.candles import LEVEL_COLORS, Candles, DrawsLevels, Level, Mark, candles_figure, candles_png
from trading.charts.pnl import pnl_figure, pnl_png
from trading.charts.style import RANGE
from trading.charts.table import table_figure, table_png

__all__ = [
    "LEVEL_COLORS",
    "RANGE",
    "Candles",
    "DrawsLevels",
    "Level",
    "Mark",
    "candles_figure",
    "candles_png",
    "pnl_figure",
    "pnl_png",
    "table_figure",
    "table_png",
]
