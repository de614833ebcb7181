"""The depth book follows DomType semantics: set level volume, 0 removes, best moves clear through, Reset clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.marketdata.depth import DepthBook
from trading.streaming import DepthKind, DepthLevel

T0 = datetime(2026, 2, 10, 14, 30, tzinfo=UTC)


def lv(kind: DepthKind, price: str, volume: int, s: int = 0) -> DepthLevel:
    return DepthLevel(T0 + timedelta(seconds=s), kind, Decimal(price), volume, volume)


def test_levels_set_replace_and_remove() -> None:
    book = DepthBook("CON.F.US.MNQ.H26")
    book.apply([lv(DepthKind.BID, "100.00", 5), lv(DepthKind.BID, "99.75", 7), lv(DepthKind.ASK, "100.25", 3)])
    book.apply([lv(DepthKind.BID, "99.75", 9, 1), lv(DepthKind.ASK, "100.50", 4, 1)])
    snap = book.snapshot()
    assert snap.bids == [(Decimal("100.00"), 5), (Decimal("99.75"), 9)]
    assert snap.asks == [(Decimal("100.25"), 3), (Decimal("100.50"), 4)]
    assert snap.updated == T0 + timedelta(seconds=1)
    book.apply([lv(DepthKind.BID, "100.00", 0, 2)])
    assert book.snapshot().bids == [(Decimal("99.75"), 9)]


def test_a_new_best_clears_levels_through_it() -> None:
    book = DepthBook("c")
    book.apply([lv(DepthKind.BID, "100.00", 5), lv(DepthKind.BID, "99.75", 7), lv(DepthKind.ASK, "100.25", 3)])
    book.apply([lv(DepthKind.NEW_BEST_BID, "99.75", 8), lv(DepthKind.BEST_ASK, "100.50", 2)])
    snap = book.snapshot()
    assert snap.bids == [(Decimal("99.75"), 8)] and snap.asks == [(Decimal("100.50"), 2)]


def test_reset_clears_and_trades_do_not_change_the_book() -> None:
    book = DepthBook("c")
    book.apply([lv(DepthKind.BID, "100.00", 5), lv(DepthKind.TRADE, "100.00", 1), lv(DepthKind.FILL, "101.00", 1)])
    assert book.snapshot().bids == [(Decimal("100.00"), 5)] and book.snapshot().asks == []
    book.apply([lv(DepthKind.RESET, "0", 0), lv(DepthKind.ASK, "101.00", 2)])
    snap = book.snapshot(1)
    assert snap.bids == [] and snap.asks == [(Decimal("101.00"), 2)]


def test_snapshot_depth_is_limited_and_ordered() -> None:
    book = DepthBook("c")
    book.apply([lv(DepthKind.BID, f"{100 - i * 0.25:.2f}", i + 1) for i in range(15)])
    book.apply([lv(DepthKind.ASK, f"{101 + i * 0.25:.2f}", i + 1) for i in reversed(range(15))])
    snap = book.snapshot(3)
    assert [p for p, _ in snap.bids] == [Decimal("100.00"), Decimal("99.75"), Decimal("99.50")]
    assert [p for p, _ in snap.asks] == [Decimal("101.00"), Decimal("101.25"), Decimal("101.50")]
