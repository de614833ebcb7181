"""The streams' shadow run (route `shadow` for market_stream or user_stream): a second connection on
the Rust stream beside the serving signalrcore one, its events never delivered, only compared with
the served ones in arrival order (`trading.shadow.Comparator`, kinds `decode.quote`, `decode.trades`, ...).

Both connections receive the same broadcasts, so their event sequences agree once both are
subscribed. What differs by nature is left out: the time each side saw an event (`ts_init`, and
`ts_event` where the gateway sent no time and each side took its own) and the connection's own
status events. After a mismatch both queues are dropped and comparison starts again
with the next events (one missed event must not make every later one a mismatch); a side that runs
more than `MAX_BEHIND` events ahead (the other connection down) drops its oldest.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading.shadow import Comparator
from trading.streaming import QuoteEvent, StatusEvent, StreamEvent

MAX_BEHIND = 1000
_KIND = {
    "QuoteEvent": "quote",
    "TradesEvent": "trades",
    "DepthEvent": "depth",
    "OrderEvent": "order",
    "FillEvent": "fill",
    "PositionEvent": "position",
    "AccountEvent": "account",
}


def plain(value: Any) -> Any:
    """An event as JSON-ready data without what differs by connection (`ts_init`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "ts_init"}
        seen = getattr(value, "ts_init", None)
        if seen is not None and getattr(value, "ts_event", None) == seen:
            out["ts_event"] = "when received"  # the gateway sent no time: each side took its own
        return out
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _subject(ev: StreamEvent) -> str:
    for attr in ("contract_id", "quote", "order", "fill", "position", "account"):
        v = getattr(ev, attr, None)
        if isinstance(v, str):
            return v
        cid = getattr(v, "contract_id", None) or getattr(v, "id", None)
        if cid is not None:
            return str(cid)
    return ""


class DecodeParity:
    """Pairs the served (Python) and shadow (Rust) events in order and compares each pair."""

    def __init__(self, comparator: Comparator) -> None:
        self.comparator = comparator
        self._python: deque[StreamEvent] = deque()
        self._rust: deque[StreamEvent] = deque()
        self.dropped = 0  # events with no partner (one side ran ahead, or dropped after a mismatch)
        self._quoted: set[str] = set()  # contracts whose first (snapshot) quote was compared

    def python(self, batch: Sequence[StreamEvent]) -> None:
        self._add(self._python, batch)

    def rust(self, batch: Sequence[StreamEvent]) -> None:
        self._add(self._rust, batch)

    def _add(self, side: deque[StreamEvent], batch: Sequence[StreamEvent]) -> None:
        side.extend(ev for ev in batch if not isinstance(ev, StatusEvent))
        while len(side) > MAX_BEHIND:
            side.popleft()
            self.dropped += 1
        while self._python and self._rust:
            py, rs = self._python.popleft(), self._rust.popleft()
            kind = "decode." + _KIND.get(type(py).__name__, type(py).__name__)
            a, b = plain(py), plain(rs)
            if isinstance(py, QuoteEvent) and isinstance(rs, QuoteEvent) and py.quote.contract_id not in self._quoted:
                # A contract's first quote is the gateway's snapshot at each connection's own subscribe:
                # its time is that connection's, the rest is compared.
                self._quoted.add(py.quote.contract_id)
                a["quote"]["ts_event"] = b["quote"]["ts_event"] = "subscribe snapshot"
            if not self.comparator.same(kind, _subject(py), a, b):
                self.dropped += len(self._python) + len(self._rust)
                self._python.clear()
                self._rust.clear()
