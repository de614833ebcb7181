"""Bar aggregation (Rust or Python twin) over contiguous numpy arrays, and the streaming aggregator.

Three operations, each with a Rust version (`rust_ext/src/{bars,ticks,zone}.rs`) and a Python twin
here that gives identical output:

* `aggregate_ticks`: trades (time ns, price, size) -> N-second/N-minute/... bars.
* `aggregate_bars`: bars sorted by start time -> larger bars.
* `new_bar_aggregator`: a streaming aggregator fed tick by tick or batch by batch, driven by the
  clock through `advance(now_ns)`, that emits each bar once when it closes.

Session alignment: buckets are aligned to local wall-clock time of a `Zone` (a table of UTC-offset
transitions; `ny_zone()` computes America/New_York's with `zoneinfo`), starting at a local
`origin_ns` (e.g. 18:00 for CME session days). When every offset is a multiple of the period (any
period dividing one hour, in New York) buckets are plain UTC arithmetic; otherwise bucket
boundaries are local boundaries converted to UTC, so a session day stays one bar across DST (23 h
or 25 h long). Gap boundaries map to the transition instant, ambiguous ones to their first
occurrence.

Ordering rule for ticks (both paths, batch and streaming):
* A bar is forming from its first tick until a tick of a later bucket arrives or the clock reaches
  its end; then it is closed and emitted once. Batch output ends with the forming bar.
* A tick earlier than the forming bar's start (or, with none forming, earlier than the end of the
  last closed bar) is late: dropped and counted (`late`). A non-finite price is dropped and
  counted (`invalid`).
* Within a bar ticks count in arrival order: open = first to arrive, close = last to arrive; equal
  timestamps (duplicates) are ordinary ticks. Empty intervals produce no bar (no phantom bars while
  the market is closed).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from trading import native

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
NS = 1_000_000_000
_I64_MIN = -(2**63)


class BarRow(Protocol):
    """A bar as either streaming aggregator hands it over (Rust `_native.BarRecord`, Python
    `BarRecord`: NamedTuples with these fields)."""

    @property
    def ts(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...


class BarRecord(NamedTuple):
    """A bar the Python aggregator closed (or is forming): start in UTC ns, prices, volume."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarArrays(NamedTuple):
    ts: I64  # bar start, ns since the epoch (UTC)
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64


class Zone(NamedTuple):
    """UTC-offset table: `offset[i]` (ns) is in force from `utc[i]` (ns) on; `utc[0]` is the minimum."""

    utc: I64
    offset: I64


def fixed_zone(offset_ns: int = 0) -> Zone:
    return Zone(np.array([_I64_MIN], np.int64), np.array([offset_ns], np.int64))


@functools.lru_cache(maxsize=8)
def ny_zone(start_year: int = 2000, end_year: int = 2050, name: str = "America/New_York") -> Zone:
    """The zone's transitions between the two years (before them, the first offset applies)."""
    tz = ZoneInfo(name)

    def off(t: datetime) -> int:
        delta = t.astimezone(tz).utcoffset()
        assert delta is not None
        return int(delta.total_seconds()) * NS

    t = datetime(start_year, 1, 1, 12, tzinfo=UTC)
    utc, offsets = [_I64_MIN], [off(t)]
    end = datetime(end_year + 1, 1, 1, tzinfo=UTC)
    day = timedelta(days=1)
    while t < end:
        nxt = t + day
        if off(nxt) != offsets[-1]:
            lo, hi = int(t.timestamp()), int(nxt.timestamp())  # offset changes in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(datetime.fromtimestamp(mid, UTC)) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            utc.append(hi * NS)
            offsets.append(off(nxt))
        t = nxt
    return Zone(np.array(utc, np.int64), np.array(offsets, np.int64))


class Bucketer:
    """Python twin of `rust_ext/src/bars/zone.rs`: which bucket `[start, end)` holds a UTC instant."""

    def __init__(self, period_ns: int, origin_ns: int = 0, zone: Zone | None = None) -> None:
        if period_ns <= 0:
            raise ValueError(f"period must be positive, got {period_ns} ns")
        zone = zone if zone is not None else fixed_zone(0)
        self.utc = [int(x) for x in zone.utc]
        self.offs = [int(x) for x in zone.offset]
        if len(self.utc) != len(self.offs) or not self.utc:
            raise ValueError("zone transitions and offsets must be non-empty and of equal length")
        if any(b <= a for a, b in zip(self.utc, self.utc[1:], strict=False)):
            raise ValueError("zone transitions must be strictly ascending")
        self.period, self.origin = period_ns, origin_ns
        self.fast = all(o % period_ns == 0 for o in self.offs)

    def offset_at(self, t: int) -> int:
        return self.offs[max(bisect.bisect_right(self.utc, t) - 1, 0)]

    def _valid(self, i: int, utc: int) -> bool:
        lo = _I64_MIN if i == 0 else self.utc[i]
        hi = self.utc[i + 1] if i + 1 < len(self.utc) else 2**63
        return lo <= utc < hi

    def utc_of_local(self, local: int) -> int:
        guess = local - self.offs[0]
        i = max(bisect.bisect_right(self.utc, guess) - 1, 0)
        lo, hi = max(i - 2, 0), min(i + 2, len(self.offs) - 1)
        found = [local - self.offs[j] for j in range(lo, hi + 1) if self._valid(j, local - self.offs[j])]
        if found:
            return min(found)
        for k in range(max(lo, 1), hi + 1):
            if local - self.offs[k - 1] >= self.utc[k] > local - self.offs[k]:
                return self.utc[k]
        return guess

    def bucket(self, t: int) -> tuple[int, int]:
        p = self.period
        if self.fast:
            s = (t - self.origin) // p * p + self.origin
            return s, s + p
        k = (t + self.offset_at(t) - self.origin) // p
        s = self.utc_of_local(k * p + self.origin)
        while s > t:
            k -= 1
            s = self.utc_of_local(k * p + self.origin)
        while True:
            e = self.utc_of_local((k + 1) * p + self.origin)
            if e > t:
                return s, e
            k += 1
            s = e


class BarAggregator(Protocol):
    """The streaming aggregator (Rust `_native.BarAggregator` or `PyBarAggregator`)."""

    def push(self, ts: int, price: float, size: float) -> Sequence[BarRow]: ...
    def push_batch(self, ts: I64, price: F64, size: F64) -> Sequence[BarRow]: ...
    def advance(self, now_ns: int) -> Sequence[BarRow]: ...
    def flush(self) -> Sequence[BarRow]: ...
    def forming(self) -> BarRow | None: ...
    @property
    def late(self) -> int: ...
    @property
    def invalid(self) -> int: ...
    @property
    def period_ns(self) -> int: ...


class PyBarAggregator:
    """Python twin of the Rust `BarAggregator` (`rust_ext/src/bars/ticks.rs`)."""

    def __init__(self, period_ns: int, origin_ns: int = 0, zone: Zone | None = None) -> None:
        self._b = Bucketer(period_ns, origin_ns, zone)
        self._bar: list[float] | None = None  # [ts, open, high, low, close, volume]
        self._end = 0
        self._watermark = _I64_MIN
        self._late = 0
        self._invalid = 0

    @property
    def late(self) -> int:
        return self._late

    @property
    def invalid(self) -> int:
        return self._invalid

    @property
    def period_ns(self) -> int:
        return self._b.period

    def _close(self, out: list[BarRecord]) -> None:
        bar = self._bar
        assert bar is not None
        out.append(BarRecord(int(bar[0]), bar[1], bar[2], bar[3], bar[4], bar[5]))
        self._watermark, self._bar = self._end, None

    def _push(self, t: int, price: float, size: float, out: list[BarRecord]) -> None:
        if not np.isfinite(price):
            self._invalid += 1
            return
        bar = self._bar
        if bar is not None:
            if bar[0] <= t < self._end:
                if price > bar[2]:
                    bar[2] = price
                if price < bar[3]:
                    bar[3] = price
                bar[4] = price
                bar[5] += size
                return
            if t < bar[0]:
                self._late += 1
                return
            self._close(out)
        elif t < self._watermark:
            self._late += 1
            return
        s, self._end = self._b.bucket(t)
        self._bar = [s, price, price, price, price, size]

    def push(self, ts: int, price: float, size: float) -> list[BarRecord]:
        out: list[BarRecord] = []
        self._push(int(ts), float(price), float(size), out)
        return out

    def push_batch(self, ts: I64, price: F64, size: F64) -> list[BarRecord]:
        if not len(ts) == len(price) == len(size):
            raise ValueError("all input columns must have the same length")
        out: list[BarRecord] = []
        for t, p, s in zip(ts.tolist(), price.tolist(), size.tolist(), strict=True):
            self._push(t, p, s, out)
        return out

    def advance(self, now_ns: int) -> list[BarRecord]:
        out: list[BarRecord] = []
        if self._bar is not None and now_ns >= self._end:
            self._close(out)
        return out

    def flush(self) -> list[BarRecord]:
        out: list[BarRecord] = []
        if self._bar is not None:
            self._close(out)
        return out

    def forming(self) -> BarRecord | None:
        b = self._bar
        return None if b is None else BarRecord(int(b[0]), b[1], b[2], b[3], b[4], b[5])


def new_bar_aggregator(period_ns: int, origin_ns: int = 0, zone: Zone | None = None) -> BarAggregator:
    """A streaming aggregator on the active path (Rust when loaded and enabled)."""
    mod = native.module()
    if mod is None:
        return PyBarAggregator(period_ns, origin_ns, zone)
    z = zone if zone is not None else fixed_zone(0)
    agg: BarAggregator = mod.BarAggregator(period_ns, origin_ns=origin_ns, tz_utc=z.utc, tz_offset=z.offset)
    return agg


def _empty() -> BarArrays:
    return BarArrays(np.empty(0, np.int64), *(np.empty(0, np.float64) for _ in range(5)))


def _from_tuples(rows: list[BarRecord]) -> BarArrays:
    if not rows:
        return _empty()
    cols = list(zip(*rows, strict=True))
    return BarArrays(np.array(cols[0], np.int64), *(np.array(c, np.float64) for c in cols[1:]))


def _tick_columns(ts: npt.ArrayLike, price: npt.ArrayLike, size: npt.ArrayLike) -> tuple[I64, F64, F64]:
    t = np.ascontiguousarray(ts, dtype=np.int64)
    p = np.ascontiguousarray(price, dtype=np.float64)
    s = np.ascontiguousarray(size, dtype=np.float64)
    if not len(t) == len(p) == len(s):
        raise ValueError("all input columns must have the same length")
    return t, p, s


def aggregate_ticks_py(
    ts: npt.ArrayLike,
    price: npt.ArrayLike,
    size: npt.ArrayLike,
    period_ns: int,
    origin_ns: int = 0,
    zone: Zone | None = None,
) -> BarArrays:
    """Python twin of the Rust `aggregate_ticks` (vectorized when the input is sorted)."""
    t, p, s = _tick_columns(ts, price, size)
    b = Bucketer(period_ns, origin_ns, zone)
    ok = np.isfinite(p)
    if not bool(ok.all()):
        t, p, s = t[ok], p[ok], s[ok]
    n = len(t)
    if n == 0:
        return _empty()
    if b.fast and (n < 2 or not bool(np.any(t[1:] < t[:-1]))):
        buckets = (t - origin_ns) // period_ns * period_ns + origin_ns
        starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
        ends = np.r_[starts[1:], n] - 1
        return BarArrays(
            buckets[starts].astype(np.int64),
            p[starts],
            np.maximum.reduceat(p, starts),
            np.minimum.reduceat(p, starts),
            p[ends],
            np.add.reduceat(s, starts),
        )
    agg = PyBarAggregator(period_ns, origin_ns, zone)
    rows = agg.push_batch(t, p, s)
    rows += agg.flush()
    return _from_tuples(rows)


def aggregate_ticks(
    ts: npt.ArrayLike,
    price: npt.ArrayLike,
    size: npt.ArrayLike,
    period_ns: int,
    origin_ns: int = 0,
    zone: Zone | None = None,
) -> BarArrays:
    """Ticks -> bars on the active path (Rust when loaded and enabled)."""
    mod = native.module()
    if mod is None:
        return aggregate_ticks_py(ts, price, size, period_ns, origin_ns, zone)
    z = zone if zone is not None else fixed_zone(0)
    out = mod.aggregate_ticks(
        *_tick_columns(ts, price, size), period_ns, origin_ns=origin_ns, tz_utc=z.utc, tz_offset=z.offset
    )
    return BarArrays(*out)


def aggregate_bars_py(
    bars: BarArrays, period_ns: int, offset_ns: int = 0, *, origin_ns: int = 0, zone: Zone | None = None
) -> BarArrays:
    """Pure-Python/numpy twin of the Rust `aggregate_bars`."""
    ts = np.ascontiguousarray(bars.ts, dtype=np.int64)
    n = len(ts)
    cols = [np.ascontiguousarray(c, dtype=np.float64) for c in bars[1:]]
    if any(len(c) != n for c in cols):
        raise ValueError("all input columns must have the same length")
    b = Bucketer(period_ns, origin_ns, zone if zone is not None else fixed_zone(offset_ns))
    if n > 1 and bool(np.any(ts[1:] < ts[:-1])):
        first = int(np.argmax(ts[1:] < ts[:-1])) + 1
        raise ValueError(f"input times must be sorted ascending (index {first})")
    if n == 0:
        return _empty()
    if b.fast:
        buckets = (ts - origin_ns) // period_ns * period_ns + origin_ns
    else:
        out, (s, e) = [], (2**63, _I64_MIN)
        for t in ts.tolist():
            if not s <= t < e:
                s, e = b.bucket(t)
            out.append(s)
        buckets = np.array(out, np.int64)
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


def aggregate_bars(
    bars: BarArrays, period_ns: int, offset_ns: int = 0, *, origin_ns: int = 0, zone: Zone | None = None
) -> BarArrays:
    """Aggregate on the active path (Rust when loaded and enabled)."""
    mod = native.module()
    if mod is None:
        return aggregate_bars_py(bars, period_ns, offset_ns, origin_ns=origin_ns, zone=zone)
    z = zone if zone is not None else fixed_zone(offset_ns)
    out = mod.aggregate_bars(
        *(np.ascontiguousarray(c, dtype=np.int64 if i == 0 else np.float64) for i, c in enumerate(bars)),
        period_ns,
        origin_ns=origin_ns,
        tz_utc=z.utc,
        tz_offset=z.offset,
    )
    return BarArrays(*out)
