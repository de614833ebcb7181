"""The bars' shadow run: both streaming aggregators fed the same ticks, the Python one's bars
served, the Rust one's compared bar by bar (`trading.shadow.Comparator`, component `bars`). A Rust
twin that raises is a `bars.error` mismatch and is reported to `on_rust_error` (the router trips the
bars breaker: a broken twin's later bars would only differ); Python's output is served all the same."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from trading.marketdata.aggregation import (
    F64,
    I64,
    BarAggregator,
    BarRow,
)
from trading.shadow import Comparator

log = logging.getLogger(__name__)
FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _rows(rows: Sequence[BarRow]) -> list[list[float]]:
    return [[int(r.ts), float(r.open), float(r.high), float(r.low), float(r.close), float(r.volume)] for r in rows]


class ShadowBarAggregator:
    """A `BarAggregator` serving Python's bars and comparing Rust's with them on every call."""

    def __init__(
        self,
        python: BarAggregator,
        rust: BarAggregator,
        comparator: Comparator,
        subject: str,
        on_rust_error: Callable[[str], None] | None = None,
    ) -> None:
        self.python = python
        self.rust = rust
        self.comparator = comparator
        self.subject = subject
        self.on_rust_error = on_rust_error
        self.failed = False  # the twin raised: not asked again

    def _twin(self, call: str, run: Callable[[], Sequence[BarRow]]) -> Sequence[BarRow] | None:
        """The Rust twin's output, or None when it raised (then a `bars.error` mismatch, reported once)."""
        if self.failed:
            return None
        try:
            return run()
        except Exception as exc:
            self.failed = True
            log.exception("bars %s: the shadow Rust aggregator raised on %s", self.subject, call)
            reason = f"the shadow Rust bar aggregator raised on {call}: {type(exc).__name__}: {exc}"
            self.comparator.same("bars.error", self.subject, None, reason)
            if self.on_rust_error is not None:
                self.on_rust_error(reason)
            return None

    def _compare(self, served: Sequence[BarRow], shadow: Sequence[BarRow] | None) -> Sequence[BarRow]:
        if shadow is None or (not served and not shadow):
            return served
        py, rs = _rows(served), _rows(shadow)
        if len(py) != len(rs):
            self.comparator.same("bars.count", self.subject, py, rs)
            return served
        for a, b in zip(py, rs, strict=True):
            diff = next((name for name, x, y in zip(FIELDS, a, b, strict=True) if x != y), None)
            self.comparator.same(f"bars.{diff}" if diff else "bars", self.subject, a, b)
        return served

    def push(self, ts: int, price: float, size: float) -> Sequence[BarRow]:
        served = self.python.push(ts, price, size)
        return self._compare(served, self._twin("push", lambda: self.rust.push(ts, price, size)))

    def push_batch(self, ts: I64, price: F64, size: F64) -> Sequence[BarRow]:
        served = self.python.push_batch(ts, price, size)
        return self._compare(served, self._twin("push_batch", lambda: self.rust.push_batch(ts, price, size)))

    def advance(self, now_ns: int) -> Sequence[BarRow]:
        served = self.python.advance(now_ns)
        return self._compare(served, self._twin("advance", lambda: self.rust.advance(now_ns)))

    def flush(self) -> Sequence[BarRow]:
        served = self.python.flush()
        return self._compare(served, self._twin("flush", lambda: self.rust.flush()))

    def forming(self) -> BarRow | None:
        return self.python.forming()

    @property
    def late(self) -> int:
        return self.python.late

    @property
    def invalid(self) -> int:
        return self.python.invalid

    @property
    def period_ns(self) -> int:
        return self.python.period_ns
