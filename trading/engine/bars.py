"""The engine's 1-minute bar cache per symbol: loaded from the store, gap-filled from the broker,
extended by the streaming aggregator (on the bars route); read by strategies through `ctx.bars` as `BarArrays`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np

from trading.clock import from_ns
from trading.domain import Bar
from trading.marketdata.aggregation import NS, BarArrays, BarRecord, BarRow
from trading.marketdata.routed import RoutedBarAggregator

ONE_MINUTE_NS = 60 * NS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


ONE_US = timedelta(microseconds=1)


def ns(ts: datetime) -> int:
    return int((ts - EPOCH) // ONE_US) * 1000


class BarCache:
    """Closed 1-minute bars of one contract by start time (a later write of the same minute wins)."""

    def __init__(self, contract_id: str, aggregator: RoutedBarAggregator | None = None) -> None:
        self.contract_id = contract_id
        self._rows: dict[int, BarRecord] = {}
        self._arrays: BarArrays | None = None
        # the feed's aggregator, on the bars route (trading/marketdata/routed.py)
        self.aggregator = aggregator or RoutedBarAggregator(ONE_MINUTE_NS, None, contract_id)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, bars: Iterable[Bar]) -> None:
        for b in bars:
            t = ns(b.start)
            self._rows[t] = BarRecord(t, b.open, b.high, b.low, b.close, b.volume)
        self._arrays = None

    def add_records(self, rows: Iterable[BarRow]) -> list[Bar]:
        out = []
        for r in rows:
            row = BarRecord(int(r.ts), float(r.open), float(r.high), float(r.low), float(r.close), float(r.volume))
            self._rows[row.ts] = row
            out.append(self.bar(row))
        self._arrays = None
        return out

    def bar(self, r: BarRecord) -> Bar:
        return Bar(self.contract_id, "1m", from_ns(r.ts), r.open, r.high, r.low, r.close, r.volume)

    @property
    def latest(self) -> datetime | None:
        return from_ns(max(self._rows)) if self._rows else None

    def arrays(self) -> BarArrays:
        if self._arrays is None:
            keys = sorted(self._rows)
            rows = [self._rows[k] for k in keys]
            ts = np.array([r[0] for r in rows], dtype=np.int64)
            cols = [np.array([r[i] for r in rows], dtype=np.float64) for i in range(1, 6)]
            self._arrays = BarArrays(ts, cols[0], cols[1], cols[2], cols[3], cols[4])
        return self._arrays

    def window(self, start: datetime, end: datetime, now: datetime) -> BarArrays:
        """Bars with open time in [start, end), closed by `now` (open time <= now - 1 minute)."""
        a = self.arrays()
        hi_ns = min(ns(end), ns(now) - ONE_MINUTE_NS + 1)
        lo = int(np.searchsorted(a.ts, ns(start), side="left"))
        hi = max(lo, int(np.searchsorted(a.ts, hi_ns, side="left")))
        return BarArrays(a.ts[lo:hi], a.open[lo:hi], a.high[lo:hi], a.low[lo:hi], a.close[lo:hi], a.volume[lo:hi])
