"""The backtest's fill conventions, one bar at a time, prices worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.backtest.fills import BookEntry, FillRules, OrderBook
from trading.backtest.ledger import Ledger
from trading.backtest.runner import BACKTEST_CONTRACTS
from trading.domain import Bar, Order, OrderStatus, OrderType, Side

MNQ = BACKTEST_CONTRACTS["MNQ"]
T0 = datetime(2025, 6, 11, 13, 30, tzinfo=UTC)


def bar(o: float, h: float, lo: float, c: float, minute: int = 0) -> Bar:
    return Bar(MNQ.id, "1m", T0 + timedelta(minutes=minute), o, h, lo, c, 1.0)


def book_with(
    *orders: tuple[Side, OrderType, str], child: str | None = None, rules: FillRules | None = None
) -> OrderBook:
    book = OrderBook({MNQ.id: MNQ}, rules or FillRules())
    for side, otype, price in orders:
        oid = book.new_id()
        p = Decimal(price)
        order = Order(oid, 1, MNQ.id, side, otype, 1, OrderStatus.OPEN, f"o{oid}",
                      limit_price=p if otype is OrderType.LIMIT else None,
                      stop_price=p if otype is OrderType.STOP else None)  # fmt: skip
        book.add(BookEntry(order, None, T0, child))
    return book


def fills_of(book: OrderBook, b: Bar) -> list[tuple[str | None, Decimal]]:
    out: list[tuple[str | None, Decimal]] = []

    def on_fill(e: BookEntry, price: Decimal, at: datetime) -> None:
        out.append((e.order.custom_tag, price))
        book.set_status(e.order.id or 0, OrderStatus.FILLED, at)

    book.process(MNQ.id, b, on_fill)
    return out


@pytest.mark.parametrize(
    ("side", "price", "b", "expected"),
    [
        (Side.BUY, "100.25", bar(100, 100.25, 99, 100), "100.25"),  # high == stop: triggers
        (Side.BUY, "100.25", bar(100, 100, 99, 100), None),  # high below: nothing
        (Side.BUY, "100.25", bar(101, 102, 100.5, 101), "101"),  # opened beyond: max(stop, open)
        (Side.SELL, "99.75", bar(100, 100, 99.75, 100), "99.75"),
        (Side.SELL, "99.75", bar(99, 99.5, 98, 99), "99"),  # min(stop, open)
    ],
)
def test_stops(side: Side, price: str, b: Bar, expected: str | None) -> None:
    got = fills_of(book_with((side, OrderType.STOP, price)), b)
    assert got == ([] if expected is None else [("o1", Decimal(expected))])


@pytest.mark.parametrize(
    ("side", "price", "b", "expected"),
    [
        (Side.SELL, "101", bar(100, 101, 99, 100), None),  # touched, not traded through
        (Side.SELL, "101", bar(100, 101.25, 99, 100), "101"),  # through: at the limit
        (Side.SELL, "101", bar(102, 103, 101.5, 102), "102"),  # opened beyond: at the open
        (Side.BUY, "99", bar(100, 100, 99, 100), None),
        (Side.BUY, "99", bar(100, 100, 98.75, 100), "99"),
        (Side.BUY, "99", bar(98, 98.5, 97, 98), "98"),
    ],
)
def test_limits(side: Side, price: str, b: Bar, expected: str | None) -> None:
    got = fills_of(book_with((side, OrderType.LIMIT, price)), b)
    assert got == ([] if expected is None else [("o1", Decimal(expected))])


def test_limit_touch_is_a_setting() -> None:
    book = book_with((Side.SELL, OrderType.LIMIT, "101"), rules=FillRules(limit_touch=True))
    assert fills_of(book, bar(100, 101, 99, 100)) == [("o1", Decimal("101"))]


def test_stop_loss_wins_when_one_bar_reaches_both_children() -> None:
    book = book_with((Side.SELL, OrderType.LIMIT, "110"), (Side.SELL, OrderType.STOP, "95"), child="x")
    book.entries[1].child_kind, book.entries[2].child_kind = "tp", "sl"
    for e in book.entries.values():
        e.order = replace(e.order, parent_id=99)
    assert fills_of(book, bar(100, 111, 94, 100)) == [("o2", Decimal("95"))]


def test_both_entries_in_one_bar_nearer_to_the_open_first() -> None:
    book = book_with((Side.BUY, OrderType.STOP, "105"), (Side.SELL, OrderType.STOP, "97"))
    # Open 99: the short (2 away) is nearer than the long (6 away).
    assert fills_of(book, bar(99, 106, 96, 100)) == [("o2", Decimal("97")), ("o1", Decimal("105"))]


def test_market_and_slippage() -> None:
    book = book_with((Side.BUY, OrderType.MARKET, "0"), rules=FillRules(slippage_ticks=2))
    assert fills_of(book, bar(100, 101, 99, 100)) == [("o1", Decimal("100.50"))]


def test_orders_not_yet_live_wait_for_their_bar() -> None:
    book = book_with((Side.BUY, OrderType.STOP, "100"))
    book.entries[1].active_from = T0 + timedelta(minutes=1)
    assert fills_of(book, bar(100, 101, 99, 100, minute=0)) == []
    assert fills_of(book, bar(100, 101, 99, 100, minute=1)) == [("o1", Decimal("100"))]


def test_ledger_is_exact_and_fifo() -> None:
    ledger = Ledger({MNQ.id: MNQ}, Decimal("50000"), Decimal("0.37"))
    ledger.apply(MNQ.id, Side.BUY, 1, Decimal("20000.25"))
    ledger.apply(MNQ.id, Side.BUY, 1, Decimal("20001.00"))
    pnl, ticks = ledger.apply(MNQ.id, Side.SELL, 2, Decimal("20002.50"))
    assert ticks == 9 + 6 and pnl == Decimal("7.50")  # 15 ticks x $0.50
    assert ledger.fees == Decimal("1.48") and ledger.balance == Decimal("50006.02")
    assert ledger.position(MNQ.id) == 0


@given(st.integers(70_000, 90_000), st.integers(70_000, 90_000), st.sampled_from([Side.BUY, Side.SELL]))
def test_round_trip_pnl_is_ticks_times_value(entry_q: int, exit_q: int, side: Side) -> None:
    ledger = Ledger({MNQ.id: MNQ}, Decimal(0), Decimal(0))
    entry, exit_ = Decimal(entry_q) / 4, Decimal(exit_q) / 4
    ledger.apply(MNQ.id, side, 3, entry)
    pnl, ticks = ledger.apply(MNQ.id, side.opposite, 3, exit_)
    assert ticks == side.sign * (exit_q - entry_q) * 3
    assert pnl == ticks * Decimal("0.50")
