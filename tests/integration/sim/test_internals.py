"""The simulator's building blocks in process: contract months and search, bar buckets, the sliding
rate-limit window, token expiry, trailing-stop bracket legs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from trading.projectx import schema as s
from trading.sim.auth import SlidingWindow, TokenAuthority
from trading.sim.bars import BarStore
from trading.sim.contracts import PRODUCTS, ContractBook, front_month
from trading.sim.exchange import Exchange

MNQ = next(p for p in PRODUCTS if p.root == "MNQ")
MBT = next(p for p in PRODUCTS if p.root == "MBT")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 5), (2026, 3)),
        (date(2026, 3, 9), (2026, 3)),
        (date(2026, 3, 10), (2026, 6)),  # rolled a week before expiry
        (date(2026, 11, 21), (2026, 12)),
        (date(2026, 12, 10), (2027, 3)),  # across the year end
    ],
)
def test_front_month_quarterly(today: date, expected: tuple[int, int]) -> None:
    assert front_month(MNQ, today) == expected


def test_front_month_monthly_and_ids() -> None:
    assert front_month(MBT, date(2026, 12, 25)) == (2027, 1)
    book = ContractBook(date(2026, 12, 10))
    mnq = book.by_root("MNQ")
    nq = book.by_root("NQ")
    assert mnq is not None and nq is not None
    assert (mnq.id, mnq.name, mnq.symbol_id) == ("CON.F.US.MNQ.H27", "MNQH7", "F.US.MNQ")
    assert (nq.id, nq.symbol_id, nq.tick_value) == ("CON.F.US.ENQ.H27", "F.US.ENQ", Decimal(5))
    expired = book.get("CON.F.US.MNQ.Z26")
    assert expired is not None and not expired.active
    assert book.by_root("ENQ") == nq


def test_search_is_fuzzy_capped_and_active_only() -> None:
    book = ContractBook(date(2026, 1, 5))
    assert len(book.search("")) <= s.MAX_CONTRACT_SEARCH_ROWS
    es = book.search("es")
    assert es[0].symbol_id == "F.US.EP"  # the exact root first
    assert {c.symbol_id for c in es} >= {"F.US.EP", "F.US.MES"}
    assert all(c.active for c in book.search("Nasdaq"))
    assert book.search("zzz") == []


def test_bar_buckets_week_month_second_and_tick() -> None:
    store = BarStore()
    t0 = datetime(2026, 1, 31, 23, 59, 58, tzinfo=UTC)  # Saturday, two seconds before February
    for i, price in enumerate(["10", "11", "9", "12"]):
        store.record("c", t0 + timedelta(seconds=i), Decimal(price), 1)
    far = datetime(2030, 1, 1, tzinfo=UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    month = store.retrieve("c", start, far, s.AggregateBarUnit.MONTH, 1, 100, True, far)
    assert [(b.t.month if b.t else 0, b.o, b.c, b.v) for b in month] == [
        (2, Decimal(9), Decimal(12), 2),
        (1, Decimal(10), Decimal(11), 2),
    ]
    week = store.retrieve("c", start, far, s.AggregateBarUnit.WEEK, 1, 100, True, far)
    assert len(week) == 1 and week[0].t == datetime(2026, 1, 26, tzinfo=UTC)  # Monday
    seconds = store.retrieve("c", start, far, s.AggregateBarUnit.SECOND, 2, 100, True, far)
    assert [b.v for b in seconds] == [2, 2]
    ticks = store.retrieve("c", start, far, s.AggregateBarUnit.TICK, 3, 100, True, far)
    assert [(b.o, b.h, b.l, b.c) for b in reversed(ticks)] == [
        (Decimal(10), Decimal(11), Decimal(9), Decimal(9)),
        (Decimal(12), Decimal(12), Decimal(12), Decimal(12)),
    ]


def test_sliding_window() -> None:
    w = SlidingWindow(2, 3600)
    assert [w.allow("a")[0] for _ in range(3)] == [True, True, False]
    refused, wait = w.allow("a")
    assert not refused and 0 < wait <= 3600
    assert w.allow("b")[0]


def test_tokens_expire_on_the_clock_and_on_demand() -> None:
    now = [datetime(2026, 1, 5, tzinfo=UTC)]
    auth = TokenAuthority(lambda: now[0], lifetime_s=100)
    token = auth.issue("u")
    assert auth.check(token) is not None and auth.check("x") is None and auth.check(None) is None
    now[0] += timedelta(seconds=100)
    assert auth.check(token) is None
    fresh = auth.issue("u")
    assert auth.expire_all() == 2 and auth.check(fresh) is None


def test_trailing_stop_bracket_leg_follows_the_price() -> None:
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)
    ex = Exchange(ContractBook(date(2026, 1, 5)), lambda: now, Decimal(0))
    acct = ex.add_account("A", Decimal(1000)).id
    mnq = ex.contracts.by_root("MNQ")
    assert mnq is not None
    book = ex.books[mnq.id]
    book.last, book.bid, book.ask = Decimal(100), Decimal("99.75"), Decimal("100.25")
    sl = s.BracketModel(ticks=-8, type=s.OrderType.TRAILING_STOP)
    out = ex.place(s.PlaceOrderRequest(accountId=acct, contractId=mnq.id, type=2, side=0, size=1, stopLossBracket=sl))
    assert out.ok and out.order_id is not None
    (child_id,) = ex.orders[out.order_id].children
    child = ex.orders[child_id]
    assert (child.status, child.type, child.stop_price) == (
        s.OrderStatus.OPEN,
        s.OrderType.TRAILING_STOP,
        Decimal("98.25"),
    )
    for price in ("101", "103", "102.5"):
        book.last = Decimal(price)
        ex.on_market(mnq.id, Decimal(price))
    assert child.stop_price == Decimal(101) and child.status == s.OrderStatus.OPEN
    book.last = Decimal(101)
    ex.on_market(mnq.id, Decimal(101))
    done = ex.orders[child_id]
    assert done.status == s.OrderStatus.FILLED and not ex.positions
