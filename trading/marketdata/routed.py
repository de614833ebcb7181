"""The bars component's route per symbol (`RoutedBarAggregator`): the streaming aggregator that serves
is the one `trading.native` routes `bars` to now (rust, python, or shadow), with its circuit breaker.

- The route is read at each call (`push_prints` reads it once for the prints of one feed event: nothing
  can change it between two prints of one synchronous call); when it changed (an admin's route, a trip,
  a reset, a probation over) the new aggregator takes over before the next print.
- The forming bar is carried by replay, not by seeding. Chosen so because a Rust aggregator that raised
  cannot be trusted to report its own state (`forming()` may raise too, or describe a print half
  applied): the router keeps every print since the last bar it handed out (those at or after the end
  of that bar, the watermark) and replays them into the fresh aggregator, which then stands exactly
  where the old one stood before the failing call; the failing call is served again on it. A minute's
  prints are few (the list is cut at each closed bar), and the same path carries every switch.
- A fresh aggregator does not know the watermark: until it closes its first bar the router itself drops
  (counts late) a print earlier than the watermark, as the old one would have.
- A Rust error (any exception from push/push_batch/advance/flush once the input was checked: bad input
  raises ValueError/TypeError to the caller before Rust sees it, nothing changed) trips the bars breaker
  at once; Python serves the failing call and what follows. The trip's alert and audit row come from
  the breaker's listener (trading/engine/routes.py), as for every component.
- Outcomes and latency of the Rust path go to the breaker as the executor's do: one sample per call
  (per feed event for `push_prints`), so a `max_p95_ms` bound applies to the bars too. In shadow the
  Rust twin does not serve: not sampled; a twin that raises is a `bars.error` mismatch and trips the
  breaker (ShadowBarAggregator).
- `late`/`invalid` are diagnostics carried across switches; a print of a failing call may be counted
  twice there (the broken aggregator may have counted it before raising).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

import numpy as np

from trading import native
from trading.marketdata.aggregation import (
    _I64_MIN,
    F64,
    I64,
    BarAggregator,
    BarRow,
    Bucketer,
    PyBarAggregator,
    Zone,
    new_bar_aggregator,
)
from trading.marketdata.shadow import ShadowBarAggregator
from trading.shadow import Comparator

log = logging.getLogger(__name__)

_I64_MAX = 2**63 - 1
BARS = native.Component.BARS
Print = tuple[int, float, float]
Chunk = Print | tuple[I64, F64, F64]  # one print, or a batch's columns


def _is_rust_fault(exc: BaseException) -> bool:
    """An exception of the Rust call itself: any Exception, or pyo3's PanicException (a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _columns(ts: I64, price: F64, size: F64) -> tuple[I64, F64, F64]:
    """The batch as contiguous int64/float64 columns of one length, or ValueError/TypeError (bad input)."""
    t = np.ascontiguousarray(ts, dtype=np.int64)
    p = np.ascontiguousarray(price, dtype=np.float64)
    s = np.ascontiguousarray(size, dtype=np.float64)
    if t.ndim != 1 or p.ndim != 1 or s.ndim != 1 or not len(t) == len(p) == len(s):
        raise ValueError("all input columns must be one-dimensional and of the same length")
    return t, p, s


class RoutedBarAggregator:
    """A `BarAggregator` whose implementation follows the bars route, carrying the forming bar."""

    def __init__(
        self,
        period_ns: int,
        comparator: Comparator | None,
        subject: str,
        origin_ns: int = 0,
        zone: Zone | None = None,
    ) -> None:
        self._period, self._origin, self._zone = period_ns, origin_ns, zone
        self._bucketer = Bucketer(period_ns, origin_ns, zone)  # bad period/zone: ValueError here
        self.comparator = comparator
        self.subject = subject
        self._kept: list[Chunk] = []  # prints at/after the watermark since the last bar handed out
        self._watermark = _I64_MIN  # end of the last bar handed out
        self._guard = False  # a fresh aggregator not yet past the watermark: the router drops late prints
        self._late = 0  # counts of aggregators retired, and of the prints the router dropped
        self._invalid = 0
        self.switches = 0  # how many times another implementation took over
        self.mode: native.Mode = native.route(BARS)
        self.inner: BarAggregator = self._build(self.mode)

    # ------------------------------------------------------------------ which aggregator serves
    def _build(self, mode: native.Mode) -> BarAggregator:
        python = PyBarAggregator(self._period, self._origin, self._zone)
        if mode == "python" or (mode == "shadow" and self.comparator is None):
            return python
        rust = new_bar_aggregator(self._period, self._origin, self._zone)  # the route said rust: loaded
        if mode == "rust":
            return rust
        assert self.comparator is not None
        return ShadowBarAggregator(python, rust, self.comparator, self.subject, on_rust_error=self._twin_failed)

    def _twin_failed(self, reason: str) -> None:
        native.breaker(BARS).trip(reason)

    def _take_over(self, mode: native.Mode) -> None:
        """`mode`'s aggregator, fed the kept prints: it stands where the one serving stood."""
        old = self.inner
        try:
            self._late += old.late
            self._invalid += old.invalid
        except BaseException as exc:  # a broken Rust aggregator: its counts are lost, nothing else
            if not _is_rust_fault(exc):
                raise
        try:
            new = self._replayed(mode)
        except BaseException as exc:  # the Rust aggregator fails on the replay itself: Python
            if mode == "python" or not _is_rust_fault(exc):
                raise
            log.error("bars %s: the Rust aggregator raised on the replay (%r); Python takes over", self.subject, exc)
            native.breaker(BARS).trip(f"the Rust bar aggregator raised on a replay: {type(exc).__name__}: {exc}")
            mode = "python"
            new = self._replayed(mode)
        self._late -= new.late  # the replay's own drops were counted by the old one already
        self._invalid -= new.invalid
        self._guard = self._watermark != _I64_MIN
        self.inner, self.mode = new, mode
        self.switches += 1
        log.warning("bars %s: now aggregated by %s (%d kept prints replayed)", self.subject, mode, len(self._kept))

    def _replayed(self, mode: native.Mode) -> BarAggregator:
        new = self._build(mode)
        for chunk in self._kept:
            if isinstance(chunk[0], np.ndarray):
                new.push_batch(*chunk)
            else:
                new.push(*chunk)
        return new

    def _follow(self) -> native.Mode:
        mode = native.route(BARS)
        if mode != self.mode:
            self._take_over(mode)
        return mode

    def _failed(self, call: str, exc: BaseException) -> None:
        """The Rust aggregator raised: the breaker trips, Python takes over (the caller serves the call again)."""
        if self.mode != "rust" or not _is_rust_fault(exc):
            raise exc
        log.error("bars %s: the Rust aggregator raised on %s (%r); Python takes over", self.subject, call, exc)
        native.breaker(BARS).trip(f"the Rust bar aggregator raised on {call}: {type(exc).__name__}: {exc}")
        self._take_over("python")

    # ------------------------------------------------------------------ bookkeeping
    def _closed(self, rows: Sequence[BarRow]) -> None:
        """Bars handed out: the watermark moves to the last one's end; kept prints before it are done."""
        self._watermark = self._bucketer.bucket(int(rows[-1].ts))[1]
        self._guard = False
        wm = self._watermark
        kept: list[Chunk] = []
        for chunk in self._kept:
            t = chunk[0]
            if isinstance(t, np.ndarray):
                keep = t >= wm
                if keep.any():
                    kept.append((t[keep], chunk[1][keep], chunk[2][keep]))  # type: ignore[index]
            elif t >= wm:
                kept.append(chunk)
        self._kept = kept

    def _sample(self, began: int) -> None:
        native.breaker(BARS).record(True, (time.perf_counter_ns() - began) / 1e6)

    # ------------------------------------------------------------------ the BarAggregator face
    def _push(self, ts: int, price: float, size: float) -> list[BarRow]:
        if self._guard and ts < self._watermark:
            self._late += 1
            return []
        try:
            rows = self.inner.push(ts, price, size)
        except BaseException as exc:
            self._failed("push", exc)
            rows = self.inner.push(ts, price, size)
        if ts >= self._watermark:
            self._kept.append((ts, price, size))
        if rows:
            self._closed(rows)
        return list(rows)

    def push_prints(self, prints: Iterable[Print]) -> list[BarRow]:
        """Prints (time ns, price, size) in arrival order; the route read once for them all."""
        rust = self._follow() == "rust"
        began = time.perf_counter_ns()
        out: list[BarRow] = []
        for ts, price, size in prints:
            t = int(ts)
            if not _I64_MIN <= t <= _I64_MAX:
                raise ValueError(f"print time {t} ns is out of range")
            out += self._push(t, float(price), float(size))
        if rust and self.mode == "rust":
            self._sample(began)
        return out

    def push(self, ts: int, price: float, size: float) -> list[BarRow]:
        return self.push_prints(((ts, price, size),))

    def push_batch(self, ts: I64, price: F64, size: F64) -> list[BarRow]:
        t, p, s = _columns(ts, price, size)
        rust = self._follow() == "rust"
        if self._guard:
            keep = t >= self._watermark
            self._late += int(len(t) - keep.sum())
            t, p, s = t[keep], p[keep], s[keep]
        began = time.perf_counter_ns()
        try:
            rows = self.inner.push_batch(t, p, s)
        except BaseException as exc:
            self._failed("push_batch", exc)
            rows = self.inner.push_batch(t, p, s)
        else:
            if rust:
                self._sample(began)
        self._kept.append((t, p, s))
        if rows:
            self._closed(rows)
        return list(rows)

    def _closing(self, call: str, now_ns: int | None) -> list[BarRow]:
        rust = self._follow() == "rust"
        began = time.perf_counter_ns()
        try:
            rows = self.inner.flush() if now_ns is None else self.inner.advance(now_ns)
        except BaseException as exc:
            self._failed(call, exc)
            rows = self.inner.flush() if now_ns is None else self.inner.advance(now_ns)
        else:
            if rust:
                self._sample(began)
        if rows:
            self._closed(rows)
        return list(rows)

    def advance(self, now_ns: int) -> list[BarRow]:
        return self._closing("advance", int(now_ns))

    def flush(self) -> list[BarRow]:
        return self._closing("flush", None)

    def forming(self) -> BarRow | None:
        self._follow()
        try:
            return self.inner.forming()
        except BaseException as exc:
            self._failed("forming", exc)
            return self.inner.forming()

    @property
    def late(self) -> int:
        return self._late + self.inner.late

    @property
    def invalid(self) -> int:
        return self._invalid + self.inner.invalid

    @property
    def period_ns(self) -> int:
        return self._period
