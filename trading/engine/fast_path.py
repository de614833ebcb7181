"""The quote -> strategy -> executor path without Python (issue 15, "Live"), for the Rust overnight range.

Where it matters: the overnight range's entries rest at the broker as stop orders, so no quote ever has to
place an entry; its one quote-driven action is the breakeven, the bracket's stop leg moved to the entry
price once a quote reaches entry ± `breakeven_points`. On the Python path that quote goes stream ->
`Engine.on_market` -> the strategy's `on_quote` (the Rust core through its Python host) -> the action queue
-> `_modify_stop` -> the executor. Here the Rust stream's decoding task runs the core's own `on_quote`
and the Rust executor's modify itself (`rust_ext/src/python/fast_path.rs`, the table and crossing rule in
`rust_ext/src/strategy/armed/`); Python arms it and takes the results.

- Armed after each handler call on the Rust strategy (`StrategyRoutes.handle` calls `after_handler`): per
  symbol, the core's trigger levels and the strategy's orders as its context gives them; no trigger,
  disarmed. The core sits behind one lock shared by both paths: the Python handler of the same quote
  finds `breakeven_done` set and does nothing, so each side's stop moves once whichever path gets there.
- The gate is what the Python path checks before it sends a stop move, no more, no less: the strategy
  running (not stopped by an operator) and served by its Rust implementation, the account's lease held
  (`LeasedPath.modify` waits for it), the executor routed to Rust for every stop the core may move
  (`RoutedExecutor` routes a modify by the order id), the market stream the Rust one. No risk screen:
  the Python path applies none to a stop move (a protective change must pass even when halted).
- Each result is handled as `_modify_stop` handles its broker call, under the engine's lock: the
  "modified" notification (the same dedupe key), the `modify` and `tick_to_order` samples on the Rust
  path, the breaker's record, the healer's retry and the alert on a failure; then the state is saved.

Crash argument: a stop move is idempotent (the same order, the same price); the breakeven is re-derived
from the strategy's saved state after a restart. `breakeven_done` is saved only after the move is
recorded: the core counts each move it makes as unrecorded under its own lock, and `Engine._persist`
saves no state of this strategy while a move is unrecorded, whichever handler asks (the Python handler of
the same quote too). So a crash before leaves it false, and the next crossing quote sends the same move
again, which the broker takes as a no-op; reconcile reads the stop's price from the broker; the
notification's key is the order and price, so a repeat is stored once. A crash after the send and before
Python recorded it loses nothing (tests/integration/engine/test_fast_path_kill.py).

On by default whenever impl = "rust" with the Rust stream and the Rust executor
(`strategies.overnight_range.fast_path = false` turns it off); the Python implementation and
Python-only strategies are unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from trading import execution, native
from trading.domain import Contract, Order
from trading.engine.context import ModifyStop
from trading.engine.lease import LeasedEngine, account_lease
from trading.metrics import LatencyMetrics, stage
from trading.projectx import schema as s
from trading.projectx.errors import ProjectXError
from trading.projectx.stream_rust import RustMarketStream
from trading.store import store_unreachable
from trading.strategies.native import RustOvernightRange, order_row

if TYPE_CHECKING:
    from trading.strategies.base import Strategy

log = logging.getLogger(__name__)

NAME = "overnight_range"
_TICK = stage("tick_to_order")
STORE_RETRY_S = 0.5  # a result's store writes tried again this often while the store is away


class Engine(LeasedEngine, Protocol):
    """The engine (core.py), as the fast path sees it."""

    market_stream: Any
    disabled: set[str]
    contracts: dict[str, Contract]
    strategies: dict[str, Strategy[Any]]
    metrics: LatencyMetrics

    @property
    def orders(self) -> Mapping[int, Order]: ...

    def spawn(self, coro: Any, name: str) -> None: ...

    async def _persist(self, force: bool = False) -> None: ...

    async def _modified(self, order: Order, price: Decimal) -> None: ...

    async def _action_failed(self, action: Any, exc: ProjectXError) -> None: ...


def rust_executor(path: Any) -> execution.RustExecutor | None:
    """The Rust executor under the engine's order path (leased, routed), None when there is none."""
    seen = 0
    while path is not None and seen < 8:
        if isinstance(path, execution.RustExecutor):
            return path
        path = getattr(path, "rust", None) or getattr(path, "executor", None) or getattr(path, "inner", None)
        seen += 1
    return None


class FastPath:
    """The armed table of one engine (see the module docstring)."""

    def __init__(self, engine: Engine, table: Any) -> None:
        self.engine = engine
        self.table = table
        self.armed: set[str] = set()  # contract ids armed now
        self.moves = 0  # stop moves sent without Python, results handled
        self._hooked: Any = None  # the Rust market stream's HubClient told of every quote
        self._unwatch: list[Callable[[], None]] = []

    @classmethod
    def create(cls, engine: Engine) -> FastPath | None:
        """The fast path when the overnight range asks for it and the Rust executor exists, else None."""
        config = getattr(engine.settings.strategies, NAME, None)
        mod = native.module()
        if config is None or not getattr(config, "fast_path", False) or mod is None or not hasattr(mod, "FastPath"):
            return None
        rs = rust_executor(engine.path)
        if rs is None:
            return None
        return cls(engine, mod.FastPath(rs._rs, engine.account_id))

    def start(self) -> None:
        self.engine.spawn(self._consume(), "fast-path-results")
        # A breaker's trip or an admin's route change between two handler calls: nothing acts without
        # Python until the next handler call has checked the gate again.
        self._unwatch = [native.on_trip(lambda _trip: self.close()), native.on_route_change(lambda _c: self.close())]

    def stop(self) -> None:
        self.close()
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch = []
        if self._hooked is not None:
            self._hooked.set_quote_hook(None)
        self._hooked = None

    def holds(self, name: str) -> bool:
        """True while a stop move made without Python is not yet recorded: the strategy's state, which
        says "moved" from the moment the core moved it, is not saved until the move's notice is stored
        (else a crash in between would lose the notice for good: the next run finds the move done)."""
        return name == NAME and self.table.unrecorded > 0

    def close(self) -> None:
        """Nothing acts without Python until the next handler call finds the gate's conditions hold."""
        self.table.set_open(False)

    # ------------------------------------------------------------------ arming
    def _stream(self) -> RustMarketStream | None:
        stream = self.engine.market_stream
        stream = getattr(stream, "current", stream)
        return stream if isinstance(stream, RustMarketStream) else None

    def _gate(self, name: str, strategy: Strategy[Any]) -> bool:
        e = self.engine
        lease = account_lease(e)
        stream = self._stream()
        ok = (
            isinstance(strategy, RustOvernightRange)
            and name not in e.disabled
            and (lease is None or lease.held)
            and e.path.path == "rust"
            and stream is not None
            and stream._client is not None
        )
        if ok and stream is not None and stream._client is not self._hooked:  # a new stream or client
            stream._client.set_quote_hook(self.table)
            self._hooked = stream._client
        return ok

    def after_handler(self, name: str, strategy: Strategy[Any]) -> None:
        """Arm (or disarm) the strategy's contracts from its state after a handler call."""
        if name != NAME:
            return
        if not self._gate(name, strategy):
            self.close()
            self._disarm()
            return
        assert isinstance(strategy, RustOvernightRange)
        core = strategy.core
        for symbol in strategy.symbols:
            contract = self.engine.contracts.get(symbol)
            if contract is None:
                continue
            cid = contract.id
            if not core.watching(symbol):
                if cid in self.armed:
                    self.table.disarm(cid)
                    self.armed.discard(cid)
                continue
            orders = strategy.ctx.orders()
            stops = [o for o in orders if o.parent_id is not None and o.status.is_working and o.id is not None]
            if not all(native.executor_uses_rust(str(o.id)) for o in stops):
                self.table.disarm(cid)  # a stop this move would go the Python way: the Python path takes it
                self.armed.discard(cid)
                continue
            if self.table.arm(cid, core, symbol, [order_row(o) for o in orders]):
                self.armed.add(cid)
            else:
                self.armed.discard(cid)
        self.table.set_open(True)

    def refresh(self) -> None:
        """Arm again from the serving strategy (after an operator's stop or start, a route change)."""
        strategy = self.engine.strategies.get(NAME)
        if strategy is None:
            self.close()
            self._disarm()
        else:
            self.after_handler(NAME, strategy)

    def _disarm(self) -> None:
        for cid in self.armed:
            self.table.disarm(cid)
        self.armed.clear()

    # ------------------------------------------------------------------ results
    async def _consume(self) -> None:
        """Each result taken once (samples, counters, breaker); its store writes (the notice, or the
        failure's alert and retry) kept and tried again while the store is away: nothing is lost."""
        pending: list[Callable[[], Awaitable[None]]] = []
        while True:
            if not pending:
                taken = [self._take(m) for m in await self.table.next_moves()]
                self.table.recorded(sum(w is None for w in taken))  # nothing of theirs to record
                pending = [w for w in taken if w is not None]
            async with self.engine._lock:
                while pending:
                    try:
                        await pending[0]()
                    except Exception as exc:
                        if store_unreachable(exc):
                            log.warning("fast path: a stop move's record waits for the store (%s)", exc)
                            break
                        log.exception("a stop move sent without Python could not be recorded")
                    pending.pop(0)
                    self.table.recorded(1)
                try:
                    await self.engine._persist()
                except Exception as exc:  # saved by the next handler's persist (the state differs from saved)
                    log.warning("fast path: the strategy state could not be saved now (%s)", exc)
            if pending:
                await asyncio.sleep(STORE_RETRY_S)

    def _take(self, move: Any) -> Callable[[], Awaitable[None]] | None:
        """What `Engine._modify_stop` does after its broker call, for a move sent without Python: the
        samples and the breaker's record now; the store writes returned, to run under the engine's lock."""
        e = self.engine
        price = Decimal(move.price)
        order = e.orders.get(move.order_id)
        if order is None:
            log.warning("fast path: stop %s moved to %s, but the engine does not know it", move.order_id, price)
            return None
        self.moves += 1
        action = ModifyStop(NAME, order, price)
        r = move.result
        if r is None:  # the executor panicked: not a broker answer; the healer sends it again the Python way
            native.breaker(native.Component.EXECUTOR).record(False)
            failure = ProjectXError(move.panic or "executor failed")
            return lambda: e._action_failed(action, failure)
        ok = r.outcome == "ok"
        native.breaker(native.Component.EXECUTOR).record(True, r.elapsed_ns / 1e6)
        e.metrics.record("modify", "rust", r.elapsed_ns, ok=ok)
        if r.sent_ns and move.seen_ns:
            e.metrics.record(_TICK, "rust", r.sent_ns - move.seen_ns)
        e.metrics.count("fast_path", "rust", "moved" if ok else "failed")
        if ok:
            return lambda: e._modified(order, price)
        try:
            execution._raise_for(r, "modify", s.ORDER_MODIFY, None, move.order_id)
        except ProjectXError as exc:
            failed = exc  # (an `except` name is unbound after the block)
            return lambda: e._action_failed(action, failed)
        return None
