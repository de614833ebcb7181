"""The engine's side of the per-component routes (trading/native.py): the routes it starts with
(`[routing]` in settings, then what an admin stored), an alert and an audit row when a circuit
breaker moves a component to Python, and an admin's change applied while it runs.

The routes are process-wide (one engine per process): `native` answers for every component, this
module only feeds it."""

from __future__ import annotations

import logging
from typing import Any

from trading import native, notifications
from trading.breaker import Bounds, Trip
from trading.config import RoutingSettings
from trading.domain import NotificationKind
from trading.shadow import Comparator, Mismatch
from trading.store import Store

log = logging.getLogger(__name__)

BREAKER = "breaker"  # route_changes.changed_by of a breaker's trip


def bounds_of(routing: RoutingSettings) -> Bounds:
    b = routing.breaker
    return Bounds(b.window, b.min_calls, b.max_error_rate, b.max_p95_ms, b.probation_s)


def apply_settings(routing: RoutingSettings) -> None:
    """`[routing]` as the routes (before what an admin stored)."""
    native.set_bounds(bounds_of(routing))
    native.set_route(native.Component.EXECUTOR, routing.executor, routing.executor_rust_share)
    native.set_route(native.Component.MARKET_STREAM, routing.market_stream)
    native.set_route(native.Component.USER_STREAM, routing.user_stream)
    native.set_route(native.Component.BARS, routing.bars)
    if routing.strategy is not None:  # unset: each strategy's `impl` (native.strategy_route)
        native.set_route(native.Component.STRATEGY, routing.strategy)


async def load(routing: RoutingSettings, store: Store) -> None:
    """The settings' routes, then each an admin stored (a stored route that no longer validates is
    logged and left out: the setting stands)."""
    apply_settings(routing)
    for row in await store.routes.all():
        try:
            native.set_route(native.component(row.component), row.mode, row.rust_share)
        except ValueError as exc:
            log.warning("stored route of %s ignored: %s", row.component, exc)


async def tripped(store: Store, trip: Trip) -> None:
    """A breaker moved a component to Python: the alert and the audit row."""
    c = native.component(trip.component)
    b = native.breaker(c)
    back = (
        f"It moves back after {b.bounds.probation_s:g} s of probation or by an admin's `route reset`."
        if b.bounds.probation_s > 0
        else "It stays on Python until an admin's `/stats route` reset (or `tradebot route reset`)."
    )
    text = f"{trip.reason}. {back}"
    await store.outbox.enqueue(
        NotificationKind.ALERT, dict(notifications.alert(f"{c.value} moved to Python", text, urgent=False))
    )
    await store.routes.audit(c.value, native.label(c), "python", BREAKER, trip.reason)


async def follow(*streams: Any) -> None:
    """Apply the routes now (an admin's change) to the engine's streams: each moves if its route changed
    (a failover stream; a plain one stays). The executor and the bars read `native` per call (the bars
    once per feed event: trading/marketdata/routed.py); the strategies are swapped by the engine."""
    for stream in streams:
        follow_route = getattr(stream, "follow_route", None)
        if follow_route is not None:
            await follow_route()


async def mismatch(store: Store, m: Mismatch) -> None:
    """A shadow run's mismatch: stored with both outputs; the first of its kind alerted (once, ever)."""
    first = await store.routes.record_mismatch(m.component, m.kind, m.subject, m.python, m.rust)
    if first:
        text = f"{m.subject}: Python gave {m.python!r}, Rust {m.rust!r}. Python's output is used; see /stats parity."
        await store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(notifications.alert(f"Parity: {m.component} differ ({m.kind})", text[:1500])),
            dedupe_key=f"parity-{m.component}-{m.kind}",
        )


async def count_compared(store: Store, comparator: Comparator) -> None:
    """Add the comparisons made since the last call to the stored count (/stats parity)."""
    n = comparator.take_compared()
    if n:
        await store.routes.count_compared(comparator.component, n)
