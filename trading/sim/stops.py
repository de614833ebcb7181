"""Stop prices of the simulated exchange: trailing stops (distance fixed at receipt, §4.6) and the
price levels of bracket legs (signed ticks from the entry's fill, §10.2)."""

from __future__ import annotations

from decimal import Decimal

from trading.domain import Contract
from trading.projectx import schema as s
from trading.sim.state import BookTop, SimOrder


def set_trail(order: SimOrder, trail: Decimal | None, contract: Contract, book: BookTop) -> str | None:
    """trailPrice is an absolute level; the distance in ticks is fixed at receipt (§4.6)."""
    if trail is None:
        return s.MSG_TRAIL_NOT_SET
    if trail % contract.tick_size:
        return s.MSG_TRAIL_NOT_ALIGNED
    if book.last is None:
        return s.MSG_TRAIL_NO_LAST_PRICE
    ticks = int(abs(book.last - trail) / contract.tick_size)
    if ticks == 0:
        return s.MSG_TRAIL_NOT_SET
    if ticks > s.MAX_TRAIL_TICKS:
        return s.MSG_TRAIL_TOO_FAR
    order.trail_ticks = ticks
    order.trail_distance = ticks * contract.tick_size
    order.extreme = book.last
    order.stop_price = book.last + (ticks * contract.tick_size if order.buy else -ticks * contract.tick_size)
    return None


def price_child(child: SimOrder, ticks: int, ref: Decimal, contract: Contract) -> None:
    level = ref + ticks * contract.tick_size
    if child.type == s.OrderType.LIMIT:
        child.limit_price = level
    elif child.type == s.OrderType.TRAILING_STOP:
        child.trail_ticks = abs(ticks)
        child.trail_distance = abs(ticks) * contract.tick_size
        child.stop_price, child.extreme = level, ref
    else:
        child.stop_price = level


def follow(o: SimOrder, contract: Contract, book: BookTop) -> None:
    """Move a trailing stop behind the best price seen since it started working."""
    if book.last is None or o.trail_ticks is None:
        return
    dist = o.trail_ticks * contract.tick_size
    if o.extreme is None:
        o.extreme = book.last
    if (o.buy and book.last < o.extreme) or (not o.buy and book.last > o.extreme):
        o.extreme = book.last
    o.stop_price = o.extreme + dist if o.buy else o.extreme - dist
