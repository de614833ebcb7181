"""The engine's order indexes (trading/engine/order_index.py) answer exactly what the scans they replace
answered, in the same order, after any sequence of order states and owners: a hub event, a REST read,
a reconcile's rewrite, a send's answer, an owner learnt before or after its order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.domain import Order, OrderStatus, OrderType, Side
from trading.engine.order_index import OrderIndex

IDS = st.integers(1, 12)
NAMES = st.sampled_from(["overnight_range", "ema_cross", "bench_trigger"])

puts = st.builds(
    lambda oid, status, side, size, parent: (
        "put",
        Order(oid, 7, "CON.F.US.MNQ.H26", side, OrderType.LIMIT, size, status, parent_id=parent),
    ),
    IDS,
    st.sampled_from(list(OrderStatus)),
    st.sampled_from(list(Side)),
    st.integers(1, 5),
    st.one_of(st.none(), IDS),
)
owns = st.tuples(st.just("own"), st.tuples(IDS, NAMES))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(puts, owns), max_size=60))
def test_the_indexes_equal_the_scans_they_replace(steps: list[tuple[str, object]]) -> None:
    index = OrderIndex()
    orders: dict[int, Order] = {}  # the engine's dicts as they were kept before the index
    owner: dict[int, str] = {}
    for kind, arg in steps:
        if kind == "put":
            assert isinstance(arg, Order) and arg.id is not None
            orders[arg.id] = arg
            index.put(arg)
        else:
            assert isinstance(arg, tuple)
            oid, name = arg
            owner[oid] = name
            index.own(oid, name)
        assert list(index.orders.items()) == list(orders.items())
        assert dict(index.owner) == owner
        # Engine.orders_of (every strategy's context.orders())
        for name in {*owner.values(), "nobody"}:
            assert index.of(name) == [o for oid, o in orders.items() if owner.get(oid) == name]
            # Engine.working_orders_of (context.working_orders())
            assert index.working_of(name) == [o for o in index.of(name) if o.status.is_working]
        # Engine.exposure, the healer's watch, the flat time, the protection guard, the blackout
        assert list(index.working.items()) == [(oid, o) for oid, o in orders.items() if o.status.is_working]


def test_an_owner_learnt_before_its_order_and_one_learnt_late_keep_the_orders_order() -> None:
    index = OrderIndex()
    first = Order(1, 7, "c", Side.BUY, OrderType.LIMIT, 1, OrderStatus.OPEN)
    second = Order(2, 7, "c", Side.BUY, OrderType.LIMIT, 1, OrderStatus.OPEN)
    third = Order(3, 7, "c", Side.SELL, OrderType.STOP, 1, OrderStatus.SUSPENDED, parent_id=2)
    index.own(2, "s")  # a send's answer: owned before its state is known
    index.put(first)
    index.put(second)
    index.put(third)
    index.own(1, "s")  # learnt late (from its tag, on a later event)
    index.own(3, "s")
    assert index.of("s") == [first, second, third]
    index.put(Order(2, 7, "c", Side.BUY, OrderType.LIMIT, 1, OrderStatus.FILLED))
    assert list(index.working) == [1, 3]
    assert [o.status for o in index.of("s")] == [OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.SUSPENDED]
