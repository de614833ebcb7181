"""Bar aggregation (Rust or Python twin) over contiguous numpy arrays.

`aggregate_bars` folds bars sorted by start time into buckets of `period_ns`, labelled by bucket
start; `offset_ns` is the UTC offset of the session's time zone so that buckets align to local
wall-clock boundaries. The Rust version lives in `rust_ext/src/bars.rs`; both give identical output.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from trading import native

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class BarArrays(NamedTuple):
    ts: I64  # bar start, ns since the epoch (UTC)
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64


def aggregate_bars_py(bars: BarArrays, period_ns: int, offset_ns: int = 0) -> BarArrays:
    """Pure-Python/numpy twin of the Rust `aggregate_bars`."""
    ts = np.ascontiguousarray(bars.ts, dtype=np.int64)
    n = len(ts)
    cols = [np.ascontiguousarray(c, dtype=np.float64) for c in bars[1:]]
    if any(len(c) != n for c in cols):
        raise ValueError("all input columns must have the same length")
    if period_ns <= 0:
        raise ValueError(f"period must be positive, got {period_ns} ns")
    if n > 1 and bool(np.any(ts[1:] < ts[:-1])):
        first = int(np.argmax(ts[1:] < ts[:-1])) + 1
        raise ValueError(f"input times must be sorted ascending (index {first})")
    if n == 0:
        return BarArrays(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in range(5)))
    buckets = (ts + offset_ns) // period_ns * period_ns - offset_ns
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], n] - 1
    o, h, lo, c, v = cols
    return BarArrays(
        buckets[starts].astype(np.int64),
        o[starts],
        np.maximum.reduceat(h, starts),
        np.minimum.reduceat(lo, starts),
        c[ends],
        np.add.reduceat(v, starts),
    )


def aggregate_bars(bars: BarArrays, period_ns: int, offset_ns: int = 0) -> BarArrays:
    """Aggregate on the active path (Rust when loaded and enabled)."""
    mod = native.module()
    if mod is None:
        return aggregate_bars_py(bars, period_ns, offset_ns)
    out = mod.aggregate_bars(
        *(np.ascontiguousarray(c, dtype=np.int64 if i == 0 else np.float64) for i, c in enumerate(bars)),
        period_ns,
        offset_ns,
    )
    return BarArrays(*out)
