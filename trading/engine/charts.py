"""The range chart: overnight 1-minute closes with the high and low of the window (PNG, Agg)."""

from __future__ import annotations

from pathlib import Path

from trading.calendar import TradingDay
from trading.engine.bars import from_ns
from trading.marketdata.aggregation import BarArrays


def range_chart(bars: BarArrays, symbol: str, day: TradingDay, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 4))
    if len(bars.ts):
        xs = [from_ns(int(t)) for t in bars.ts]
        ax.plot(xs, bars.close, linewidth=0.8, label="close")  # type: ignore[arg-type]
        hi, lo = float(bars.high.max()), float(bars.low.min())
        ax.axhline(hi, color="green", linestyle="--", label=f"ONH {hi}")
        ax.axhline(lo, color="red", linestyle="--", label=f"ONL {lo}")
        ax.legend(loc="upper left")
    ax.set_title(f"{symbol} overnight range {day.date.isoformat()}")
    ax.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
