"""`LazyQuote` (what the Rust market stream hands over) reads, compares, hashes, copies and pickles
as the plain `Quote` of the same values, builds its event time once, on first read, and stays frozen."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.domain import Quote
from trading.projectx.lazy_quote import LazyQuote

NS = 1_772_953_200_123_456_789  # 2026-03-08T07:00:00.123456789Z
AT = datetime(2026, 3, 8, 7, 0, 0, 123456, tzinfo=UTC)
SEEN = datetime(2026, 3, 8, 7, 0, 1, tzinfo=UTC)


def built(ns: int | None = NS) -> LazyQuote:
    """As the Rust stream builds one: every field set in place past the frozen __setattr__."""
    q = object.__new__(LazyQuote)
    fields = {"contract_id": "CON.F.US.MNQ.H26", "last": Decimal("21000.25"), "bid": None, "ask": Decimal(21001)}
    fields |= {"volume": 7, "ts_init": SEEN, "_ns": ns, "_ts": None if ns is not None else SEEN}
    for name, value in fields.items():
        object.__setattr__(q, name, value)
    return q


def plain() -> Quote:
    return Quote("CON.F.US.MNQ.H26", AT, Decimal("21000.25"), None, Decimal(21001), 7, SEEN)


def test_the_event_time_is_built_on_first_read_and_kept() -> None:
    q = built()
    assert q._ts is None
    assert q.ts_event == AT
    assert q.ts_event is q.ts_event
    assert built(None).ts_event is SEEN  # no time ever came: the batch's


def test_it_is_the_plain_quote_of_the_same_values() -> None:
    q, p = built(), plain()
    assert isinstance(q, Quote)
    assert q == p and p == q and hash(q) == hash(p)
    assert q != dataclasses.replace(p, bid=Decimal(1))
    assert dataclasses.asdict(q) == dataclasses.asdict(p)
    assert dataclasses.replace(q, ts_init=None) == dataclasses.replace(p, ts_init=None)
    assert repr(q) == repr(p).replace("Quote(", "LazyQuote(", 1)


def test_copies_and_pickles_keep_every_field() -> None:
    q = built()
    for other in (copy.copy(q), copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
        assert other == plain() and other.ts_event == AT


def test_it_stays_frozen() -> None:
    q = built()
    for name in ("ts_event", "bid", "contract_id"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(q, name, None)
