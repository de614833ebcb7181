"""The engine's orders of the day, by broker id, with the indexes its per-order work reads.

Every quote that makes an order reads the strategy's own orders (`EngineContext.orders`) and the
account's working orders (risk's exposure); the healer, the protection guard and the flat time read the
working ones too. Scanning every order of the day for them made each order cost more than the one
before; these indexes answer in the size of the answer instead.

One place changes them: `put` (a broker order state, whoever learnt it: a hub event, a REST read, a
reconcile, a send's answer) and `own` (which strategy an order belongs to). Both keep the engine's
insertion order of `orders` in every index, so each answer lists its orders exactly as a scan of
`orders` in order would (tests/unit/engine/test_order_index.py holds them to that).
"""

from __future__ import annotations

from collections.abc import Mapping

from trading.domain import Order, OrderStatus


class _InOrder:
    """Orders by id, listed in the order of their first arrival in the index that owns it (`seq`)."""

    __slots__ = ("_last", "_seq", "items")

    def __init__(self, seq: Mapping[int, int]) -> None:
        self.items: dict[int, Order] = {}
        self._seq = seq
        self._last = -1  # the largest seq appended (an upper bound once items leave)

    def put(self, oid: int, order: Order) -> None:
        if oid in self.items:
            self.items[oid] = order  # keeps its place
            return
        self.items[oid] = order
        n = self._seq[oid]
        if n > self._last:
            self._last = n
        else:  # arrived out of order (owned, or working again, after later orders): rare
            self.items = dict(sorted(self.items.items(), key=lambda kv: self._seq[kv[0]]))

    def drop(self, oid: int) -> None:
        self.items.pop(oid, None)


class OrderIndex:
    """`orders` (broker id -> latest state), `owner` (broker id -> strategy), and views of them kept
    up to date as they change: the working orders, and each strategy's orders."""

    def __init__(self) -> None:
        self._orders: dict[int, Order] = {}
        self._owner: dict[int, str] = {}
        self._seq: dict[int, int] = {}  # broker id -> its place in `orders`
        self._working = _InOrder(self._seq)
        self._of: dict[str, _InOrder] = {}
        self._by_tag: dict[str, int] = {}  # customTag -> broker id, for the orders that carry one

    @property
    def orders(self) -> Mapping[int, Order]:
        return self._orders

    @property
    def owner(self) -> Mapping[int, str]:
        return self._owner

    @property
    def working(self) -> Mapping[int, Order]:
        """The orders whose status is working (bracket children included), in `orders`' order."""
        return self._working.items

    def by_tag(self, tag: str) -> int | None:
        """The broker id of the order with customTag `tag`, if the engine has learnt of it."""
        return self._by_tag.get(tag)

    def of(self, name: str) -> list[Order]:
        """Strategy `name`'s orders, in `orders`' order (the same list as scanning `orders` by `owner`)."""
        got = self._of.get(name)
        return list(got.items.values()) if got is not None else []

    def working_of(self, name: str) -> list[Order]:
        """Strategy `name`'s working orders, in `orders`' order (a scan of the account's working orders
        only: a handful, whatever the day's count)."""
        owner = self._owner
        return [o for oid, o in self._working.items.items() if owner.get(oid) == name]

    def put(self, order: Order) -> None:
        """The latest state of an order with a broker id."""
        oid = order.id
        assert oid is not None, "only orders with a broker id are indexed"
        if oid not in self._orders:
            self._seq[oid] = len(self._seq)
        self._orders[oid] = order
        if order.custom_tag and order.status is not OrderStatus.REJECTED:
            # a rejected duplicate of a tag comes back with an id of its own: the tag stays the live order's
            self._by_tag.setdefault(order.custom_tag, oid)
        if order.status.is_working:
            self._working.put(oid, order)
        else:
            self._working.drop(oid)
        name = self._owner.get(oid)
        if name is not None:
            self._of[name].put(oid, order)

    def own(self, oid: int, name: str) -> None:
        """Order `oid` belongs to strategy `name` (known before or after the order itself)."""
        before = self._owner.get(oid)
        if before == name:
            return
        if before is not None:
            self._of[before].drop(oid)
        self._owner[oid] = name
        bucket = self._of.get(name)
        if bucket is None:
            bucket = self._of[name] = _InOrder(self._seq)
        order = self._orders.get(oid)
        if order is not None:
            bucket.put(oid, order)
