"""The strategy component's route in the engine (trading/native.py `strategy_route`): which
implementation of each strategy serves, the swap when that changes, the breaker's fallback, and the
shadow run.

- Every event reaches a strategy through `StrategyRoutes.handle`, under the engine's lock. Before the
  handler, the running instance is checked against the route: when it is the other implementation
  (an admin's change, a breaker's trip, a probation over) it is swapped for the wanted one carrying its
  state (`on_save` → `on_load`). So a change takes effect between two events, never mid-handler.
- A Rust strategy that raises trips the strategy breaker at once (its state after a half-run handler
  cannot be trusted, and the event cannot be retried on Rust): what it queued for that event is
  dropped, the Python implementation is loaded with the state from before the event (the engine's last
  saved state: it is saved after every handler that changes it) and handles the same event. The trip's
  alert and audit row come from the breaker's listener (routes.tripped), as for every component.
- Shadow (`route strategy shadow`): before the Python strategy handles an event, its Rust twin loads
  Python's state and handles the same event through a `RecordingContext`: reads answered by the real
  context, writes (place, cancel, modify stop, notify) captured, never queued, never reserved past the
  handler. Then Python serves; the two action lists, and the two states after, are compared through
  the strategy `Comparator` (stored and alerted once per kind, counted in /stats parity). The twin runs
  first so that it sees the world Python sees (risk's exposure without Python's reservations). A twin
  that raises is a mismatch (`strategy.error`), never an error of the serving path.
"""

from __future__ import annotations

import json
import logging
import time as walltime
from collections import Counter
from dataclasses import asdict
from typing import Any, Protocol

from trading import native
from trading.engine.context import Action, Cancel, EngineContext, ModifyStop, Place
from trading.metrics import LatencyMetrics, stage
from trading.shadow import Comparator
from trading.strategies import STRATEGIES
from trading.strategies.base import JSON, Strategy

log = logging.getLogger(__name__)

_STRATEGY = stage("strategy")
RUST = "rust"
PYTHON = "python"


class Host(Protocol):
    """The engine, as the routes see it."""

    settings: Any
    strategies: dict[str, Strategy[Any]]
    actions: list[Action]
    _reserved: list[Any]
    _saved: dict[str, str]
    metrics: LatencyMetrics
    fast_path: Any  # trading.engine.fast_path.FastPath | None (armed after each handler)


def rust_class(name: str) -> type[Strategy[Any]] | None:
    """The Rust implementation of strategy `name`, None for a Python-only strategy."""
    impls: dict[str, type[Strategy[Any]]] = getattr(STRATEGIES[name], "implementations", {})
    return impls.get(RUST)


def plain(action: Action) -> Any:
    """An action as JSON-ready data (what the comparator compares and stores)."""
    if isinstance(action, Place):
        r = asdict(action.request)
        return ["place", json.loads(json.dumps(r, default=str, sort_keys=True))]
    if isinstance(action, Cancel):
        return ["cancel", action.order.id]
    if isinstance(action, ModifyStop):
        return ["modify_stop", action.order.id, str(action.price)]
    return ["notify", action.kind.value, json.loads(json.dumps(action.payload, default=str, sort_keys=True))]


class _Recorder:
    """The engine seen by a shadow twin: everything read from the engine, `actions` its own list."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.actions: list[Action] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class RecordingContext(EngineContext):
    """The real context's reads; its writes captured in `actions` (never carried out). A proposal is
    screened by the real risk check and reserved (a second proposal in the same handler sees it); the
    caller drops those reservations after the handler."""

    def __init__(self, engine: Any, name: str) -> None:
        self.recorder = _Recorder(engine)
        super().__init__(self.recorder, name)

    @property
    def actions(self) -> list[Action]:
        return self.recorder.actions


class StrategyRoutes:
    def __init__(self, engine: Host, comparator: Comparator) -> None:
        self.engine = engine
        self.comparator = comparator
        self.twins: dict[str, Strategy[Any]] = {}  # shadow: each strategy's Rust twin
        self.acted: Counter[str] = Counter()  # shadow: events on which the serving strategy queued an action

    # ------------------------------------------------------------------ which implementation
    def mode(self, name: str) -> str:
        """python, rust or shadow for strategy `name` now (python for a Python-only strategy)."""
        if rust_class(name) is None:
            return PYTHON
        return self._mode(name)

    def _mode(self, name: str) -> str:
        """`mode` of a strategy that has a Rust implementation."""
        config = getattr(self.engine.settings.strategies, name, None)
        return native.strategy_route(str(getattr(config, "impl", PYTHON)))

    def build(self, name: str, impl: str, ctx: Any) -> Strategy[Any]:
        """Strategy `name` in implementation `impl` (python or rust) over `ctx`."""
        cls = STRATEGIES[name]
        config = cls.config_from(getattr(self.engine.settings.strategies, name))
        if rust_class(name) is not None:
            config = config.model_copy(update={"impl": impl})
        strategy = cls(config, ctx)
        return strategy

    def create(self, name: str, ctx: Any) -> Strategy[Any]:
        """The strategy as its route wants it now (the engine's start)."""
        return self.build(name, RUST if self.mode(name) == RUST else PYTHON, ctx)

    def _swap(self, name: str, impl: str, state: JSON) -> Strategy[Any]:
        old = self.engine.strategies[name]
        new = self.build(name, impl, old.ctx)
        new.on_load(state)
        self.engine.strategies[name] = new
        log.warning("%s: now served by its %s implementation (state carried)", name, impl)
        return new

    def serving(self, name: str) -> Strategy[Any]:
        """The instance that handles the next event: swapped first when the route changed."""
        return self._serving(name, rust_class(name))[0]

    def _serving(self, name: str, cls: type[Strategy[Any]] | None) -> tuple[Strategy[Any], str, str]:
        """`serving`, with the strategy's Rust class given (None: Python-only), its mode now and the
        implementation of the instance (what `handle` asks for each event, each read once)."""
        strategy = self.engine.strategies[name]
        if cls is None:  # a Python-only strategy: Python serves whatever the routes say
            return strategy, PYTHON, PYTHON
        mode = self._mode(name)
        want = RUST if mode == RUST else PYTHON
        if (RUST if isinstance(strategy, cls) else PYTHON) != want:
            strategy = self._swap(name, want, strategy.on_save())
        return strategy, mode, RUST if isinstance(strategy, cls) else PYTHON

    # ------------------------------------------------------------------ one event
    def handle(self, name: str, event: str, *args: Any) -> None:
        """Event `event` (a Strategy handler's name) with `args` to strategy `name`."""
        strategy, mode, impl = self._serving(name, rust_class(name))
        twin = self._shadow(name, strategy, event, args) if mode == "shadow" else None
        queued, reserved = len(self.engine.actions), len(self.engine._reserved)
        began = walltime.perf_counter_ns()
        if impl == RUST:
            breaker = native.breaker(native.Component.STRATEGY)
            try:
                getattr(strategy, event)(*args)
            except Exception as exc:
                log.exception("the Rust %s raised on %s; Python takes over", name, event)
                del self.engine.actions[queued:]
                del self.engine._reserved[reserved:]
                breaker.trip(f"the Rust {name} strategy raised on {event}: {type(exc).__name__}: {exc}")
                strategy = self._swap(name, PYTHON, self._before(name, strategy))
                impl, began = PYTHON, walltime.perf_counter_ns()
                getattr(strategy, event)(*args)
            else:
                breaker.record(True, (walltime.perf_counter_ns() - began) / 1e6)
        else:
            getattr(strategy, event)(*args)
        self.engine.metrics.record(_STRATEGY, impl, walltime.perf_counter_ns() - began)
        if self.engine.fast_path is not None:
            self.engine.fast_path.after_handler(name, strategy)
        if twin is not None:
            done, rust_actions, rust_state = twin
            subject = f"{name} {event}" + (f" {args[0]}" if args and isinstance(args[0], str) else "")
            if done:
                python_actions = [plain(a) for a in self.engine.actions[queued:]]
                if python_actions:
                    self.acted[event] += 1
                self.comparator.same(f"strategy.{event}", subject, python_actions, rust_actions)
                self.comparator.same("strategy.state", subject, _state(strategy.on_save()), rust_state)
            else:
                self.comparator.same("strategy.error", subject, None, rust_actions)

    def _before(self, name: str, failed: Strategy[Any]) -> JSON:
        """The state from before the event that failed: the engine's last saved one (saved after every
        handler that changed it); without one (no trading day yet), what the failed instance holds."""
        saved = self.engine._saved.get(name)
        if saved is not None:
            state: JSON = json.loads(saved)
            return state
        try:
            return failed.on_save()
        except Exception:
            log.exception("the failed Rust %s cannot save its state either; Python starts empty", name)
            return {}

    def _shadow(self, name: str, strategy: Strategy[Any], event: str, args: tuple[Any, ...]) -> tuple[bool, Any, Any]:
        """The Rust twin handles the event from the serving strategy's state: (ran, its actions as
        plain data or its error, its state after)."""
        reserved = len(self.engine._reserved)
        try:
            twin = self.twins.get(name)
            if twin is None:
                twin = self.twins[name] = self.build(name, RUST, RecordingContext(self.engine, name))
            ctx = twin.ctx
            assert isinstance(ctx, RecordingContext)
            ctx.actions.clear()
            twin.on_load(strategy.on_save())
            getattr(twin, event)(*args)
            return True, [plain(a) for a in ctx.actions], _state(twin.on_save())
        except Exception as exc:
            log.exception("the shadow Rust %s raised on %s", name, event)
            return False, f"{type(exc).__name__}: {exc}", None
        finally:
            del self.engine._reserved[reserved:]


def _state(state: JSON) -> Any:
    return json.loads(json.dumps(state, default=str, sort_keys=True))
