"""`LazyQuote`: the `domain.Quote` the Rust market stream hands to handlers, its event time built on
first read.

A quote's `datetime` is the dearest part of it (about a microsecond each, one per quote: every quote
carries its own time) and many consumers never read it (a coalescing price board, a strategy that
only wants the bid). The Rust stream builds these objects itself (`HubClient.build_quotes`): every
field but `ts_event` is set in place, the prices are `Decimal`s shared through a cache, and the
event time stays nanoseconds (`_ns`) until someone reads `ts_event`, then it is made once and kept.

To every reader it is a `Quote`: `isinstance`, the fields, `==` and `hash` with a plain `Quote` of
the same values, `dataclasses.replace`/`asdict`, `repr`, pickling; still frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from trading.domain import Quote

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = tuple(Quote.__dataclass_fields__)


def _values(q: Quote) -> tuple[Any, ...]:
    return tuple(getattr(q, name) for name in _FIELDS)


class LazyQuote(Quote):
    """A `Quote` whose `ts_event` is built from `_ns` (ns since the epoch, UTC) when first read.
    `_ts` holds it once built (or the time given outright: a quote that never carried one)."""

    __slots__ = ("_ns", "_ts")
    _ns: int
    _ts: datetime | None

    @property
    def ts_event(self) -> datetime:
        ts: datetime | None = self._ts
        if ts is None:
            # Not `self._ts = ...`: Quote's frozen __setattr__ refuses nothing but its own fields.
            ts = _EPOCH + timedelta(microseconds=self._ns // 1000)
            object.__setattr__(self, "_ts", ts)
        return ts

    @ts_event.setter
    def ts_event(self, value: datetime) -> None:
        # Reached only through object.__setattr__ (the dataclass __init__, replace, unpickling):
        # `q.ts_event = x` still raises FrozenInstanceError.
        object.__setattr__(self, "_ts", value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quote):
            return _values(self) == _values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_values(self))
