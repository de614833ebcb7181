"""The bars' shadow run: both streaming aggregators fed the same ticks, the Python one's bars
served, the Rust one's compared bar by bar (`trading.shadow.Comparator`, component `bars`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trading import native
from trading.marketdata.aggregation import (
    F64,
    I64,
    BarAggregator,
    BarRow,
    PyBarAggregator,
    Zone,
    new_bar_aggregator,
)
from trading.shadow import Comparator

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _rows(rows: Sequence[BarRow]) -> list[list[float]]:
    return [[int(r.ts), float(r.open), float(r.high), float(r.low), float(r.close), float(r.volume)] for r in rows]


class ShadowBarAggregator:
    """A `BarAggregator` serving Python's bars and comparing Rust's with them on every call."""

    def __init__(self, python: BarAggregator, rust: BarAggregator, comparator: Comparator, subject: str) -> None:
        self.python = python
        self.rust = rust
        self.comparator = comparator
        self.subject = subject

    def _compare(self, served: Sequence[BarRow], shadow: Sequence[BarRow]) -> Sequence[BarRow]:
        if not served and not shadow:
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
        return self._compare(self.python.push(ts, price, size), self.rust.push(ts, price, size))

    def push_batch(self, ts: I64, price: F64, size: F64) -> Sequence[BarRow]:
        return self._compare(self.python.push_batch(ts, price, size), self.rust.push_batch(ts, price, size))

    def advance(self, now_ns: int) -> Sequence[BarRow]:
        return self._compare(self.python.advance(now_ns), self.rust.advance(now_ns))

    def flush(self) -> Sequence[BarRow]:
        return self._compare(self.python.flush(), self.rust.flush())

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


def routed_bar_aggregator(
    period_ns: int, comparator: Comparator | None, subject: str, origin_ns: int = 0, zone: Zone | None = None
) -> BarAggregator:
    """The streaming aggregator the `bars` route asks for now: Rust, Python, or both in shadow (with
    `comparator`; without one, shadow serves Python alone)."""
    route = native.route(native.Component.BARS)
    if route == "rust":
        return new_bar_aggregator(period_ns, origin_ns, zone)
    python = PyBarAggregator(period_ns, origin_ns, zone)
    if route == "python" or comparator is None:
        return python
    rust: Any = new_bar_aggregator(period_ns, origin_ns, zone)
    return ShadowBarAggregator(python, rust, comparator, subject)
