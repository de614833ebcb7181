"""The streams' decode comparison pairs each subject's events in order: an event only one connection
saw (it subscribed earlier) is dropped, not a mismatch; a real difference is one mismatch, after
which the comparison goes on; each connection's subscribe snapshot is not compared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.domain import Quote, Tick
from trading.projectx.decode_parity import DecodeParity
from trading.shadow import Comparator, Mismatch
from trading.streaming import QuoteEvent, TradesEvent

T0 = datetime(2026, 2, 10, 14, 30, tzinfo=UTC)
CID = "CON.F.US.MNQ.H26"


def trade(i: int, price: str | None = None, seen: int = 1) -> TradesEvent:
    at = T0 + timedelta(seconds=i)
    tick = Tick(CID, at, Decimal(price or f"{20000 + i}.25"), 1, None, at + timedelta(milliseconds=seen))
    return TradesEvent(CID, (tick,))


def quote(i: int, seen: int = 1) -> QuoteEvent:
    at = T0 + timedelta(seconds=i)
    return QuoteEvent(Quote(CID, at, Decimal(20000 + i), None, None, None, at + timedelta(milliseconds=seen)))


def parity() -> tuple[DecodeParity, list[Mismatch]]:
    found: list[Mismatch] = []
    return DecodeParity(Comparator("market_stream", found.append)), found


def test_the_same_events_seen_at_different_moments_agree() -> None:
    p, found = parity()
    p.python([quote(0), trade(1), trade(2)])
    p.rust([quote(0, seen=5), trade(1, seen=3)])
    p.rust([trade(2, seen=9)])
    assert found == [] and p.comparator.compared == 2  # the snapshot quote is not compared


def test_an_event_only_one_side_saw_is_dropped_not_a_mismatch() -> None:
    p, found = parity()
    p.python([trade(1), trade(2), trade(3)])  # subscribed before the print of second 1
    p.rust([trade(2), trade(3)])
    assert found == [] and p.dropped == 1 and p.comparator.compared == 2


def test_a_real_difference_is_one_mismatch_and_the_comparison_goes_on() -> None:
    p, found = parity()
    p.python([trade(1), trade(2), trade(3)])
    p.rust([trade(1, price="1.00"), trade(2, price="2.00")])
    assert [m.kind for m in found] == ["decode.trades"] and found[0].subject == CID
    assert found[0].python["ticks"][0]["price"] == "20001.25" and found[0].rust["ticks"][0]["price"] == "1"
    p.python([trade(4)])
    p.rust([trade(4)])
    assert len(found) == 1 and p.comparator.compared == 2
