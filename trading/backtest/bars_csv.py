"""Bar input for backtests: `Bar`s to per-symbol arrays, and the CSV of 1-minute bars
(`symbol,ts,open,high,low,close,volume`, ts ISO-8601 UTC) read and written."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from trading.domain import Bar
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import ns

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ns(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value) // 1000)


def arrays_from_bars(bars: Iterable[Bar]) -> dict[str, BarArrays]:
    """Group `Bar`s by `contract_id` (the symbol in a backtest), sorted, duplicates dropped (last wins)."""
    rows: dict[str, list[tuple[int, float, float, float, float, float]]] = {}
    for b in bars:
        rows.setdefault(b.contract_id, []).append((ns(b.start), b.open, b.high, b.low, b.close, b.volume))
    return {sym: _to_arrays(r) for sym, r in rows.items()}


def _to_arrays(rows: list[tuple[int, float, float, float, float, float]]) -> BarArrays:
    dedup = dict((r[0], r) for r in rows)
    ordered = [dedup[k] for k in sorted(dedup)]
    ts = np.array([r[0] for r in ordered], dtype=np.int64)
    f = [np.array([r[k] for r in ordered], dtype=np.float64) for k in range(1, 6)]
    return BarArrays(ts, f[0], f[1], f[2], f[3], f[4])


def load_csv(path: Path | str) -> dict[str, BarArrays]:
    """`symbol,ts,open,high,low,close,volume` with `ts` ISO-8601 UTC (a header line is required)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype={"symbol": str})
    missing = {"symbol", "ts", "open", "high", "low", "close", "volume"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    ts = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["ns"] = ts.astype("datetime64[ns, UTC]").astype("int64")
    out: dict[str, BarArrays] = {}
    for sym, g in frame.groupby("symbol", sort=True):
        g = g.drop_duplicates("ns", keep="last").sort_values("ns")
        out[str(sym)] = BarArrays(
            g["ns"].to_numpy(np.int64),
            *(g[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")),
        )
    return out


def write_csv(path: Path | str, bars: Mapping[str, BarArrays]) -> None:
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["symbol", "ts", "open", "high", "low", "close", "volume"])
        for sym, a in bars.items():
            for i in range(len(a.ts)):
                w.writerow(
                    [sym, from_ns(int(a.ts[i])).isoformat().replace("+00:00", "Z"), repr(float(a.open[i])),
                     repr(float(a.high[i])), repr(float(a.low[i])), repr(float(a.close[i])), repr(float(a.volume[i]))]
                )  # fmt: skip
