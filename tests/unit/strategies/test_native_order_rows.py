"""The Rust strategy's host builds each order's row once per order object (the breakeven reads every
order on each quote): after any sequence of replacements, additions and removals, the rows it hands the
core are exactly the rows of the context's orders now."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from trading.domain import Order, OrderStatus, OrderType, Side
from trading.strategies.native import _Host, order_row

STATUSES = list(OrderStatus)


def _order(i: int) -> Order:
    return Order(i, 1, "CON.F.US.MNQ.H26", Side.SELL, OrderType.STOP, 1, OrderStatus.OPEN, f"t:{i}",
                 stop_price=Decimal(20000 + i))  # fmt: skip


steps = st.lists(
    st.tuples(st.sampled_from(["replace", "add", "remove", "read"]), st.integers(0, 9), st.sampled_from(STATUSES)),
    max_size=200,
)


@given(steps)
def test_the_rows_are_always_those_of_the_current_orders(ops: list[tuple[str, int, OrderStatus]]) -> None:
    orders: list[Order] = [_order(i) for i in range(3)]
    ctx = SimpleNamespace(orders=lambda: list(orders))
    host = _Host(cast(Any, SimpleNamespace(ctx=ctx)))
    next_id = 3
    for op, k, status in ops:
        if op == "replace" and orders:
            j = k % len(orders)
            orders[j] = replace(orders[j], status=status, stop_price=Decimal(k))
        elif op == "add":
            orders.append(_order(next_id))
            next_id += 1
        elif op == "remove" and orders:
            orders.pop(k % len(orders))
        assert host.orders() == [order_row(o) for o in orders]
