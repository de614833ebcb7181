"""The engine's self-healing loop: one mechanism that drives an account back to the broker's truth
after any fault, instead of a special case per fault.

Every `heal_interval_s` (sooner when woken) the healer, in this order:

1. **Held events.** A user-hub batch that could not be applied because the database was unreachable
   is held here, in order (later batches queue behind it), and applied when the store answers again;
   then a reconcile runs. Nothing a hub delivered is dropped.
2. **Held actions.** Strategy actions (place, cancel, modify, notify) that failed on the store stay
   queued on the engine and are carried out when it is back. A cancel or stop change the broker did
   not take (429, 5xx, timeout) is tried again, with backoff, for as long as its order is working
   and not yet as asked (a refusal by the broker itself: a few times, then the broker is right).
3. **Agreement.** While the engine is not ready (a hub reconnect, a failed or disagreeing reconcile,
   an uncertain placement) it reconciles, with capped backoff until it agrees.
4. **Intents.** Every order intent without a broker id is settled: looked up at the broker by its
   customTag (attached if found), else sent again with the same tag once the broker's Retry-After
   has passed; one older than `intent_deadline_s` of trading time is marked rejected and its strategy
   told. The strategy's state follows the settled outcome through the engine's usual order events.
5. **Watch.** The broker's open orders and positions are compared with the engine's view (two cheap
   reads) every `reconcile_interval_s` while there are positions or working orders, every
   `flat_check_interval_s` otherwise. A difference seen on two checks in a row means the account
   feed missed events (a silent stall, a lost frame): alert, rebuild the user hub, reconcile.
6. **Protection.** Every open position has a working stop at the broker for its full size, else one
   is placed (or the position closed) after a grace: protection.py, every `protection.check_interval_s`.
7. **Rules.** Risk marked to market (open P&L counts), its trips and loss alerts carried out, and the
   account flattened at the profile's flat time: rules.py.

Retry spacing is wall time (faults are); the intent deadline is trading time (the engine's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from trading import notifications
from trading.clock import Clock
from trading.config import Settings
from trading.domain import NotificationKind, Order, OrderRequest, OrderStatus, Position, PositionSide
from trading.engine.blackout import Blackout
from trading.engine.context import Action, Cancel, ModifyStop
from trading.engine.deadman import DeadMan
from trading.engine.order_index import OrderIndex
from trading.engine.protection import Protection
from trading.engine.rules import RuleGuard
from trading.projectx.errors import ApiError, ProjectXError, RateLimited
from trading.projectx.rest import ProjectXClient
from trading.store import Store, store_unreachable
from trading.store.orders import Intent
from trading.streaming import StreamEvent, UserStream

log = logging.getLogger(__name__)

Fingerprint = tuple[frozenset[int], frozenset[tuple[str, int]]]


class Agreement(Protocol):
    """A reconcile's outcome as the healer reads it (reconcile.py's `ReconcileReport`)."""

    @property
    def agrees(self) -> bool: ...


class HealedEngine(Protocol):
    """The engine (core.py) as the healer drives it: its state, its lock, and the steps it heals with."""

    settings: Settings
    store: Store
    client: ProjectXClient
    clock: Clock
    account_id: int
    started: bool
    ready: bool
    book: OrderIndex
    positions: dict[str, Position]
    actions: list[Action]
    user_stream: UserStream | None
    protection: Protection
    deadman: DeadMan
    blackout: Blackout
    rules: RuleGuard
    _lock: asyncio.Lock

    async def _after(self) -> None: ...

    async def apply_user_event(self, ev: StreamEvent) -> None: ...

    async def adopt(self, tag: str, found: Order, strategy: str | None) -> None: ...

    async def reject_intent(self, intent: Intent, reason: str) -> None: ...

    async def send(self, request: OrderRequest, strategy: str | None) -> int | None: ...

    async def reconcile(self) -> Agreement: ...


@dataclass
class HealStats:
    """What the healer did (shown by status commands, asserted by the fault tests)."""

    held_events: int = 0  # events held because the store was unreachable
    applied_late: int = 0  # held events applied once it was back
    intents_found: int = 0  # intents found at the broker by tag
    intents_resent: int = 0  # intents sent again with the same tag
    intents_rejected: int = 0  # intents given up past the deadline
    feed_rebuilds: int = 0  # user hub rebuilt after missed events
    actions_retried: int = 0  # cancels and stop changes tried again
    reconciles_failed: int = 0
    last_error: str = ""
    retry_at: dict[str, float] = field(default_factory=dict)  # tag -> monotonic time of its next send


class Healer:
    def __init__(self, engine: HealedEngine) -> None:
        self.engine = engine
        self.cfg = engine.settings.engine
        self.held: deque[StreamEvent] = deque()
        self.stats = HealStats()
        self._wake = asyncio.Event()
        self._store_failures = 0
        self._next_store_try = 0.0
        self._reconcile_failures = 0
        self._next_reconcile = 0.0
        self._next_check = 0.0
        self._last_diff: Fingerprint | None = None
        self._attempts: dict[str, int] = {}
        self._seen: dict[str, float] = {}  # tag -> monotonic time an unsettled intent was first seen
        self._failures = 0
        self._pause_until = 0.0
        self._held_lock = asyncio.Lock()
        self._later: dict[str, tuple[Cancel | ModifyStop, float]] = {}  # key -> (action, monotonic due time)

    # ------------------------------------------------------------------ called by the engine
    def hold(self, events: Sequence[StreamEvent], exc: BaseException) -> None:
        """Keep events the store could not take (in order, behind any already held)."""
        if not self.held:
            log.warning("store unreachable (%s): holding account events until it is back", exc)
        self.held.extend(events)
        self.stats.held_events += len(events)
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.engine.ready = False
        self._backoff_store()

    def defer(self, tag: str, exc: ProjectXError) -> None:
        """A send of `tag` failed before the broker took it: try again after Retry-After (or backoff)."""
        n = self._attempts.get(tag, 0) + 1
        self._attempts[tag] = n
        wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else None
        delay = wait if wait is not None else min(self.cfg.retry_max_s, 0.5 * 2 ** (n - 1))
        self.stats.retry_at[tag] = time.monotonic() + delay
        log.warning("intent %s not placed (%s): retrying in %.1f s", tag, exc, delay)

    def retry_later(self, action: Cancel | ModifyStop, exc: ProjectXError) -> str | None:
        """A cancel or stop change the broker did not take: try again later (see the module notes).
        Returns its key, or None when it is given up."""
        if action.order.id is None:
            return None
        key = f"{'cancel' if isinstance(action, Cancel) else 'stop'}-{action.order.id}"
        n = self._attempts.get(key, 0) + 1
        if isinstance(exc, ApiError) and not isinstance(exc, RateLimited) and n > 3:
            self._attempts.pop(key, None)
            return None
        self._attempts[key] = n
        wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else None
        delay = wait if wait is not None else min(self.cfg.retry_max_s, 0.25 * 2 ** (n - 1))
        self._later[key] = (action, time.monotonic() + delay)
        return key

    def wake(self) -> None:
        self._wake.set()

    def knows(self, tag: str) -> bool:
        """`tag` is an intent this healer has met unsettled (a send to retry, a crash's leftover)."""
        return tag in self._seen or tag in self.stats.retry_at

    @property
    def healthy(self) -> bool:
        """Nothing held, nothing waiting to be re-sent."""
        return not self.held and not self.stats.retry_at and not self._later

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.heal_interval_s):  # not wait_for: see engine/copy.py run()
                    await self._wake.wait()
            self._wake.clear()
            await self.tick()

    async def tick(self) -> None:
        e = self.engine
        if not e.started:
            return
        try:  # first, whatever else is wrong: it is for when nothing else works
            await e.deadman.check()
        except Exception as exc:
            log.warning("dead-man switch: %s", exc, exc_info=not store_unreachable(exc))
        now = time.monotonic()
        if self.held:
            if now < self._next_store_try:
                return
            if not await self.apply_held():
                return
        if now < self._pause_until:
            return
        try:
            self._due_actions(now)
            if e.actions and not e._lock.locked():
                async with e._lock:
                    await e._after()
            if not e.ready and now >= self._next_reconcile:
                await self._reconcile()
            if e.ready:
                await self.settle_intents()
            if e.ready and now >= self._next_check:
                await self._check()
            if e.ready:
                await e.protection.check()
            if e.ready:
                await e.blackout.check()
                await e.rules.check()
            self._failures = 0
        except Exception as exc:  # the loop must survive anything; a later tick retries
            self._failures += 1
            self._pause_until = time.monotonic() + min(self.cfg.retry_max_s, 0.25 * 2 ** (self._failures - 1))
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("healer: %s", self.stats.last_error, exc_info=not store_unreachable(exc))

    # ------------------------------------------------------------------ 1. held events
    async def apply_held(self) -> bool:
        """Apply the held events in order; False while the store is still unreachable. Every
        reconcile calls this first: the broker's truth is read after what the hubs delivered."""
        async with self._held_lock:
            return await self._apply_held()

    async def _apply_held(self) -> bool:
        e = self.engine
        if not self.held:
            return True
        while self.held:
            ev = self.held[0]
            try:
                await e.apply_user_event(ev)
            except Exception as exc:
                if store_unreachable(exc):
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    self._backoff_store()
                    return False
                log.exception("a held account event could not be applied; the reconcile will cover it")
            self.held.popleft()
            self.stats.applied_late += 1
        log.warning("store back: held account events applied; reconciling")
        self._store_failures = 0
        e.ready = False
        self._next_reconcile = 0.0
        return True

    def _backoff_store(self) -> None:
        self._store_failures += 1
        # Capped low: a refused connect costs nothing, and held events should follow the store back at once.
        self._next_store_try = time.monotonic() + min(1.0, 0.1 * 2 ** (self._store_failures - 1))

    def _due_actions(self, now: float) -> None:
        """Queue the cancels and stop changes whose retry is due and still needed."""
        for key, (action, due) in list(self._later.items()):
            current = self.engine.book.orders.get(action.order.id or -1, action.order)
            done = not current.status.is_working or (
                isinstance(action, ModifyStop) and current.stop_price == action.price
            )
            if done:
                del self._later[key]
                self._attempts.pop(key, None)
            elif now >= due:
                del self._later[key]
                self.stats.actions_retried += 1
                retry: Action = action
                self.engine.actions.append(retry)

    # ------------------------------------------------------------------ 3. agreement
    async def _reconcile(self) -> None:
        try:
            report = await self.engine.reconcile()
        except Exception as exc:  # store or broker down: try again later
            self.stats.reconciles_failed += 1
            self.stats.last_error = f"reconcile: {type(exc).__name__}: {exc}"
            log.warning("reconcile failed (%s); retrying", self.stats.last_error)
            self._reconcile_failures += 1
        else:
            self._reconcile_failures = 0 if report.agrees else self._reconcile_failures + 1
        if self._reconcile_failures:
            delay = min(self.cfg.retry_max_s, 0.5 * 2 ** (self._reconcile_failures - 1))
            self._next_reconcile = time.monotonic() + delay

    # ------------------------------------------------------------------ 4. intents
    async def settle_intents(self) -> None:
        """Settle every intent of the account that has no broker id (under the engine's lock)."""
        e = self.engine
        async with e._lock:
            intents = await e.store.orders.intents(e.account_id)
            for intent in intents:
                await self.settle(intent)
            live = {i.request.custom_tag for i in intents}
            for tag in list(self._seen.keys() | self.stats.retry_at.keys()):
                if tag not in live:
                    self._forget(tag)
            await e._after()

    async def settle(self, intent: Intent) -> bool:
        """One intent to a broker outcome: found by tag, sent again, or rejected past the deadline;
        False when it is not its turn yet. The caller holds the engine's lock."""
        e = self.engine
        tag = intent.request.custom_tag
        now = time.monotonic()
        first = self._seen.setdefault(tag, now)
        # Wall time since this process first saw it: a broker may list an order a moment after taking it.
        if now - first < self.cfg.intent_settle_after_s or now < self.stats.retry_at.get(tag, 0.0):
            return False
        age = e.clock.now() - intent.created_at  # trading time: a stale entry is not sent late
        found = await e.client.find_order_by_tag(e.account_id, tag, intent.created_at - timedelta(minutes=5))
        if found is not None and found.id is not None:
            await e.adopt(tag, found, intent.strategy)
            self.stats.intents_found += 1
            self._forget(tag)
            return True
        if age > timedelta(seconds=self.cfg.intent_deadline_s):
            await e.reject_intent(intent, f"not placed within {self.cfg.intent_deadline_s:.0f} s; given up")
            self.stats.intents_rejected += 1
            self._forget(tag)
            return True
        self.stats.intents_resent += 1
        return await e.send(intent.request, intent.strategy) is not None

    def settled(self, tag: str) -> None:
        """`tag` reached a broker outcome (placed or rejected), whoever sent it."""
        self._forget(tag)

    def _forget(self, tag: str) -> None:
        self._seen.pop(tag, None)
        self.stats.retry_at.pop(tag, None)
        self._attempts.pop(tag, None)

    # ------------------------------------------------------------------ 5. watch
    async def _check(self) -> None:
        e = self.engine
        exposed = bool(e.positions) or bool(e.book.working)
        interval = self.cfg.reconcile_interval_s if exposed else self.cfg.flat_check_interval_s
        self._next_check = time.monotonic() + interval
        broker = _fingerprint(
            {o.id for o in await e.client.search_open_orders(e.account_id) if o.id is not None and _visible(o.status)},
            {p.contract_id: _signed(p.side, p.size) for p in await e.client.open_positions(e.account_id)},
        )
        mine = _fingerprint(
            {oid for oid, o in e.book.working.items() if _visible(o.status)},
            {cid: _signed(p.side, p.size) for cid, p in e.positions.items() if p.size},
        )
        if broker == mine or self.held:
            self._last_diff = None
            return
        diff: Fingerprint = (broker[0] ^ mine[0], broker[1] ^ mine[1])
        if diff != self._last_diff:  # maybe an event in flight: look again shortly
            self._last_diff = diff
            self._next_check = time.monotonic() + min(1.0, interval)
            return
        self._last_diff = None
        self.stats.feed_rebuilds += 1
        text = (
            f"the broker's open orders/positions differ from what the account feed reported "
            f"(orders {sorted(diff[0])}, positions {sorted(diff[1])}); rebuilding the feed and reconciling"
        )
        log.warning("account feed missed events: %s", text)
        note = notifications.alert("Account feed missed events", text)
        await e.store.outbox.enqueue(NotificationKind.ALERT, dict(note))
        if e.user_stream is not None:
            try:
                await e.user_stream.reconnect("missed events")
            except Exception as exc:  # the reconcile below still brings the truth
                log.warning("user hub rebuild failed: %s", exc)
        e.ready = False
        await self._reconcile()


def _visible(status: OrderStatus) -> bool:
    # Bracket children wait suspended behind their entry and are not listed by searchOpen.
    return status is not OrderStatus.SUSPENDED


def _signed(side: PositionSide, size: int) -> int:
    return size if side is PositionSide.LONG else -size


def _fingerprint(orders: set[int], positions: dict[str, int]) -> Fingerprint:
    return frozenset(orders), frozenset(positions.items())
