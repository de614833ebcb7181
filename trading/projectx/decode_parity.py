"""The streams' shadow run (route `shadow` for market_stream or user_stream): a second connection on
the Rust stream beside the serving signalrcore one, its events never delivered, only compared with
the served ones in arrival order (`trading.shadow.Comparator`, kinds `decode.quote`, `decode.trades`, ...).

Both connections receive the same broadcasts, so their event sequences agree once both are
subscribed. What differs by nature is left out: the time each side saw an event (`ts_init`, and
`ts_event` where the gateway sent no time and each side took its own), each connection's subscribe
snapshot and its own status events. After a mismatch that subject's queues are dropped and
comparison starts again with its next events (one missed event must not make every later one a
mismatch); a side that runs more than `MAX_BEHIND` events ahead (the other connection down) drops
its oldest.
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


Key = tuple[str, str]  # (event kind, subject): the sequence both connections see the same way


class DecodeParity:
    """Pairs the served (Python) and shadow (Rust) events of each kind and subject in order and
    compares each pair.

    The two connections subscribe at different moments, so one may see an event of a subject the
    other never gets (a print broadcast between the two subscribes): heads that differ are judged
    only once both sides hold a second event; an extra event on one side (its partner is the other
    side's next) is dropped, not a mismatch. Each connection's first quote of a contract is the
    gateway's snapshot at its own subscribe: not compared."""

    def __init__(self, comparator: Comparator) -> None:
        self.comparator = comparator
        self._queues: dict[Key, tuple[deque[Any], deque[Any]]] = {}
        self._snapshots: tuple[set[str], set[str]] = (set(), set())
        self.dropped = 0  # events with no partner (one side ran ahead, or dropped after a mismatch)

    def python(self, batch: Sequence[StreamEvent]) -> None:
        self._add(0, batch)

    def rust(self, batch: Sequence[StreamEvent]) -> None:
        self._add(1, batch)

    def _add(self, side: int, batch: Sequence[StreamEvent]) -> None:
        for ev in batch:
            if isinstance(ev, StatusEvent):
                continue
            if isinstance(ev, QuoteEvent) and ev.quote.contract_id not in self._snapshots[side]:
                self._snapshots[side].add(ev.quote.contract_id)
                continue
            key = ("decode." + _KIND.get(type(ev).__name__, type(ev).__name__), _subject(ev))
            queues = self._queues.setdefault(key, (deque(), deque()))
            queues[side].append(plain(ev))
            if len(queues[side]) > MAX_BEHIND:
                queues[side].popleft()
                self.dropped += 1
            self._pair(key, *queues)

    def _pair(self, key: Key, py: deque[Any], rs: deque[Any]) -> None:
        while py and rs:
            if py[0] == rs[0]:
                self.comparator.same(key[0], key[1], py.popleft(), rs.popleft())
                continue
            if len(py) < 2 or len(rs) < 2:
                return  # judged once both sides hold the next event
            if py[0] == rs[1]:  # an extra event on the Rust side
                rs.popleft()
                self.dropped += 1
            elif rs[0] == py[1]:  # an extra event on the Python side
                py.popleft()
                self.dropped += 1
            else:
                self.comparator.same(key[0], key[1], py[0], rs[0])
                self.dropped += len(py) + len(rs) - 2
                py.clear()
                rs.clear()
