"""Bars benchmarks: 1M trades -> 1-minute bars; 3,000 and 1M one-minute bars -> 5-minute bars.
Contenders: Rust (through the Python wrapper), the Python twin, raw numpy, polars, pandas."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.stats import Summary, measure, summarize, table
from trading import native
from trading.marketdata.aggregation import (
    BarArrays,
    aggregate_bars,
    aggregate_bars_py,
    aggregate_ticks,
    aggregate_ticks_py,
)

NS = 1_000_000_000
MIN = 60 * NS
T0 = 1_730_613_600 * NS - 3 * 3600 * NS  # around a DST change, on purpose


def trades(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = T0 + np.cumsum(rng.integers(0, 120_000_000, n)).astype(np.int64)  # ~60 ms apart: ~17 h of trades
    price = 21000 + np.cumsum(rng.choice([-0.25, 0.0, 0.25], n))
    size = rng.integers(1, 10, n).astype(np.float64)
    return ts, price, size


def minute_bars(n: int, seed: int = 2) -> BarArrays:
    rng = np.random.default_rng(seed)
    ts = (T0 + np.arange(n, dtype=np.int64) * MIN).astype(np.int64)
    o = 21000 + np.cumsum(rng.choice([-0.25, 0.0, 0.25], n))
    return BarArrays(ts, o, o + 1.0, o - 1.0, o + 0.25, rng.integers(1, 500, n).astype(np.float64))


def _numpy_ticks(ts: np.ndarray, p: np.ndarray, v: np.ndarray, period: int) -> tuple[np.ndarray, ...]:
    b = ts // period * period
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    return (
        b[starts],
        p[starts],
        np.maximum.reduceat(p, starts),
        np.minimum.reduceat(p, starts),
        p[ends],
        np.add.reduceat(v, starts),
    )


def _contenders_ticks(ts: np.ndarray, p: np.ndarray, v: np.ndarray) -> dict[str, Callable[[], object]]:
    import pandas as pd
    import polars as pl

    out: dict[str, Callable[[], object]] = {}
    if native.enabled():
        out["rust"] = lambda: aggregate_ticks(ts, p, v, MIN)
    out["python twin (numpy)"] = lambda: aggregate_ticks_py(ts, p, v, MIN)
    out["numpy (raw reduceat)"] = lambda: _numpy_ticks(ts, p, v, MIN)
    df = pl.DataFrame({"ts": ts, "price": p, "size": v})

    def polars_run() -> object:
        return (
            df.with_columns((pl.col("ts") // MIN * MIN).alias("b"))
            .group_by("b", maintain_order=True)
            .agg(
                pl.col("price").first().alias("open"),
                pl.col("price").max().alias("high"),
                pl.col("price").min().alias("low"),
                pl.col("price").last().alias("close"),
                pl.col("size").sum().alias("volume"),
            )
        )

    out["polars (group_by)"] = polars_run
    pdf = pd.DataFrame({"price": p, "size": v}, index=pd.to_datetime(ts, utc=True))

    def pandas_run() -> object:
        r = pdf.resample("1min")
        ohlc = r["price"].ohlc()
        ohlc["volume"] = r["size"].sum()
        return ohlc.dropna()

    out["pandas (resample)"] = pandas_run
    return out


def _contenders_bars(bars: BarArrays) -> dict[str, Callable[[], object]]:
    import pandas as pd
    import polars as pl

    period = 5 * MIN
    out: dict[str, Callable[[], object]] = {}
    if native.enabled():
        out["rust"] = lambda: aggregate_bars(bars, period)
    out["python twin (numpy)"] = lambda: aggregate_bars_py(bars, period)
    df = pl.DataFrame(dict(zip(BarArrays._fields, bars, strict=True)))

    def polars_run() -> object:
        return (
            df.with_columns((pl.col("ts") // period * period).alias("b"))
            .group_by("b", maintain_order=True)
            .agg(
                pl.col("open").first(),
                pl.col("high").max(),
                pl.col("low").min(),
                pl.col("close").last(),
                pl.col("volume").sum(),
            )
        )

    out["polars (group_by)"] = polars_run
    pdf = pd.DataFrame(
        {k: v for k, v in zip(BarArrays._fields[1:], bars[1:], strict=True)}, index=pd.to_datetime(bars.ts, utc=True)
    )

    def pandas_run() -> object:
        return (
            pdf.resample("5min")
            .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
            .dropna()
        )

    out["pandas (resample)"] = pandas_run
    return out


def _run(title: str, contenders: dict[str, Callable[[], object]], repeat: int) -> str:
    rows: list[Summary] = [summarize(name, measure(fn, repeat)) for name, fn in contenders.items()]
    baseline = "rust" if "rust" in contenders else rows[0].name
    return table(title, rows, baseline)


def run(quick: bool = False) -> list[str]:
    n = 200_000 if quick else 1_000_000
    ts, p, v = trades(n)
    out = [_run(f"{n:,} trades -> 1-minute bars (time per call)", _contenders_ticks(ts, p, v), 10 if quick else 30)]
    small = minute_bars(3_000)
    out.append(_run("3,000 one-minute bars -> 5-minute bars", _contenders_bars(small), 200 if quick else 1000))
    big = minute_bars(n)
    out.append(_run(f"{n:,} one-minute bars -> 5-minute bars", _contenders_bars(big), 10 if quick else 30))
    return out
