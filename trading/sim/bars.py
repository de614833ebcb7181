"""Bars the simulated market produced, served by History/retrieveBars (projectx-api.md §4.5).

One-minute bars are kept per contract and aggregated on request; second and tick bars come from the
recent prints. Buckets are aligned to UTC (minutes, hours, days; weeks start Monday 00:00 UTC,
months on the 1st) — the live alignment is undocumented (§4.5).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.projectx import schema as s

MAX_PRINTS = 200_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class MinuteBar:
    start: int  # epoch seconds, multiple of 60
    o: Decimal
    h: Decimal
    low: Decimal
    c: Decimal
    v: int


@dataclass(frozen=True, slots=True)
class Print:
    ts: float  # epoch seconds
    price: Decimal
    size: int


class BarStore:
    def __init__(self) -> None:
        self._bars: dict[str, dict[int, MinuteBar]] = {}
        self._keys: dict[str, list[int]] = {}
        self._prints: dict[str, deque[Print]] = {}

    def record(self, contract_id: str, at: datetime, price: Decimal, size: int) -> None:
        ts = at.timestamp()
        self._prints.setdefault(contract_id, deque(maxlen=MAX_PRINTS)).append(Print(ts, price, size))
        minute = int(ts // 60) * 60
        bars = self._bars.setdefault(contract_id, {})
        bar = bars.get(minute)
        if bar is None:
            bars[minute] = MinuteBar(minute, price, price, price, price, size)
            keys = self._keys.setdefault(contract_id, [])
            if not keys or keys[-1] < minute:
                keys.append(minute)
            else:
                bisect.insort(keys, minute)
        else:
            bar.h = max(bar.h, price)
            bar.low = min(bar.low, price)
            bar.c = price
            bar.v += size

    def get(self, contract_id: str, start: int) -> MinuteBar | None:
        """The bar of the minute that starts at `start` (epoch seconds), if any."""
        return self._bars.get(contract_id, {}).get(start)

    def add_minute_bar(self, contract_id: str, bar: MinuteBar) -> None:
        """Insert a whole bar (warm-up history, replay)."""
        bars = self._bars.setdefault(contract_id, {})
        if bar.start not in bars:
            bisect.insort(self._keys.setdefault(contract_id, []), bar.start)
        bars[bar.start] = bar

    def add_minute_bars(self, contract_id: str, bars: list[MinuteBar]) -> None:
        """Insert many whole bars at once (history made on demand): one sort, not one insertion each."""
        if not bars:
            return
        store = self._bars.setdefault(contract_id, {})
        keys = self._keys.setdefault(contract_id, [])
        fresh = [b.start for b in bars if b.start not in store]
        for b in bars:
            store[b.start] = b
        if fresh:
            if keys and min(fresh) < keys[-1]:
                keys[:] = sorted(set(keys).union(fresh))
            else:
                keys.extend(sorted(fresh))

    def minute_bars(self, contract_id: str, start: int, end: int) -> list[MinuteBar]:
        keys = self._keys.get(contract_id, [])
        lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, end)
        bars = self._bars[contract_id] if keys else {}
        return [bars[k] for k in keys[lo:hi]]

    def retrieve(
        self,
        contract_id: str,
        start: datetime,
        end: datetime,
        unit: int,
        unit_number: int,
        limit: int,
        include_partial: bool,
        now: datetime,
    ) -> list[s.BarModel]:
        """Bars whose start lies in [start, end), newest first, the newest `limit` of them."""
        t0, t1, tnow = start.timestamp(), end.timestamp(), now.timestamp()
        if unit in (s.AggregateBarUnit.SECOND, s.AggregateBarUnit.TICK):
            prints = [p for p in self._prints.get(contract_id, ()) if t0 <= p.ts < t1]
            rows = _from_prints(prints, unit, unit_number)
        else:
            first_minute = int(t0 // 60) * 60 - _span_hint(unit, unit_number)
            rows = _fold(self.minute_bars(contract_id, first_minute, int(t1 // 60 + 1) * 60), unit, unit_number)
        out = [r for r in rows if t0 <= r.start < t1]
        partial = out and unit != s.AggregateBarUnit.TICK and _bucket(int(tnow), unit, unit_number) == out[-1].start
        if partial and not include_partial:
            out.pop()
        out = out[-limit:]
        out.reverse()
        return [s.BarModel(t=EPOCH + timedelta(seconds=b.start), o=b.o, h=b.h, l=b.low, c=b.c, v=b.v) for b in out]


def _span_hint(unit: int, n: int) -> int:
    return {2: 60, 3: 3600, 4: 86400, 5: 7 * 86400, 6: 31 * 86400}.get(unit, 60) * n


def _bucket(ts: int, unit: int, n: int) -> int:
    if unit == s.AggregateBarUnit.SECOND:
        return ts // n * n
    if unit == s.AggregateBarUnit.MINUTE:
        return ts // (60 * n) * 60 * n
    if unit == s.AggregateBarUnit.HOUR:
        return ts // (3600 * n) * 3600 * n
    if unit == s.AggregateBarUnit.DAY:
        return ts // (86400 * n) * 86400 * n
    if unit == s.AggregateBarUnit.WEEK:
        monday = 4 * 86400  # 1970-01-05 was a Monday
        return (ts - monday) // (7 * 86400 * n) * 7 * 86400 * n + monday
    d = EPOCH + timedelta(seconds=ts)
    months = d.year * 12 + d.month - 1
    months -= months % n
    return int(datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC).timestamp())


def _fold(bars: list[MinuteBar], unit: int, n: int) -> list[MinuteBar]:
    out: list[MinuteBar] = []
    for b in bars:
        key = _bucket(b.start, unit, n)
        if out and out[-1].start == key:
            cur = out[-1]
            cur.h, cur.low, cur.c, cur.v = max(cur.h, b.h), min(cur.low, b.low), b.c, cur.v + b.v
        else:
            out.append(MinuteBar(key, b.o, b.h, b.low, b.c, b.v))
    return out


def _from_prints(prints: list[Print], unit: int, n: int) -> list[MinuteBar]:
    out: list[MinuteBar] = []
    for i, p in enumerate(prints):
        key = int(p.ts // n * n) if unit == s.AggregateBarUnit.SECOND else None
        new = (i % n == 0) if key is None else (not out or out[-1].start != key)
        if new:
            out.append(MinuteBar(key if key is not None else int(p.ts), p.price, p.price, p.price, p.price, p.size))
        else:
            cur = out[-1]
            cur.h, cur.low, cur.c, cur.v = max(cur.h, p.price), min(cur.low, p.price), p.price, cur.v + p.size
    return out
