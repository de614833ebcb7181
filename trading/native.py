"""The one place that says whether the Rust extension is loaded and enabled, and which
implementation each component uses now (`route(component)`).

`TRADEBOT_RUST=0` in the environment (or `rust = false` in settings, applied through
`set_enabled`) forces the Python twins everywhere at run time. Below that, each component has its
route (`[routing]` in settings, or an admin's stored choice applied through `set_route`): `rust`,
`python` or `shadow` (Python serves, the Rust twin is computed beside it and compared: bars, the
streams' decode and strategy, where nothing can double an order). The executor also has a share of orders sent the
Rust way, chosen by a hash of the customTag (`executor_uses_rust`). A component's circuit breaker
(`breaker(component)`, trading/breaker.py) holds it on Python once tripped, until `reset` or its
probation runs out.
"""

from __future__ import annotations

import enum
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from trading.breaker import Bounds, Breaker, TripListener

_native: ModuleType | None
_import_error: str | None
try:
    from trading import _native as _loaded

    _native, _import_error = _loaded, None
except ImportError as exc:  # pragma: no cover - depends on the build
    _native, _import_error = None, str(exc)

_enabled_by_settings = True


def _env_enabled() -> bool:
    return os.environ.get("TRADEBOT_RUST", "1").strip().lower() not in {"0", "false", "no", "off"}


def set_enabled(enabled: bool) -> None:
    """Apply the `rust` setting (the environment variable still wins when it says 0)."""
    global _enabled_by_settings
    _enabled_by_settings = enabled


def loaded() -> bool:
    return _native is not None


def enabled() -> bool:
    """True when the Rust path is active: the extension imported and nothing disabled it."""
    return _native is not None and _enabled_by_settings and _env_enabled()


def module() -> ModuleType | None:
    """The extension module when the Rust path is active, else None."""
    return _native if enabled() else None


def active_path() -> str:
    return "rust" if enabled() else "python"


def describe() -> str:
    if _native is None:
        return f"python (Rust extension not loaded: {_import_error})"
    if not enabled():
        why = "TRADEBOT_RUST=0" if not _env_enabled() else "rust = false in settings"
        return f"python (Rust extension {_native.__version__} loaded, disabled by {why})"
    return f"rust (extension {_native.__version__})"


# ------------------------------------------------------------------ per-component routes
class Component(enum.StrEnum):
    EXECUTOR = "executor"
    MARKET_STREAM = "market_stream"
    USER_STREAM = "user_stream"
    BARS = "bars"
    STRATEGY = "strategy"


Mode = Literal["rust", "python", "shadow"]
MODES: tuple[Mode, ...] = ("rust", "python", "shadow")
# Shadow runs only where the Rust twin's output is compared, never acted on: an executor in shadow
# would double orders. A stream in shadow is a second connection whose events are only compared.
SHADOWABLE = frozenset({Component.BARS, Component.STRATEGY, Component.MARKET_STREAM, Component.USER_STREAM})

_DEFAULTS: dict[Component, Mode] = {c: ("python" if c is Component.STRATEGY else "rust") for c in Component}
_routes: dict[Component, Mode] = dict(_DEFAULTS)
_explicit: set[Component] = set()  # the routes set by settings or an admin (the strategy's may be left unset)
UNSET = "impl"  # the strategy's route, never set: each strategy's `impl` serves (strategy_route)
_share = 100
_listeners: list[TripListener] = []  # shared by every breaker


def _breaker(name: str, bounds: Bounds) -> Breaker:
    b = Breaker(name, bounds)
    b.listeners = _listeners
    return b


_breakers: dict[Component, Breaker] = {c: _breaker(c.value, Bounds()) for c in Component}


def on_trip(listener: TripListener) -> Callable[[], None]:
    """Call `listener` whenever a breaker trips; returns the function that stops it."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop


@dataclass(frozen=True, slots=True)
class RouteState:
    """One component as an operator reads it."""

    component: str
    configured: str  # the route set (settings or an admin)
    effective: str  # what serves now: python when the extension is off or the breaker open
    share: int | None  # the executor's Rust share in %, None for the other components
    breaker_open: bool
    reason: str  # why it is on Python against its route ("" when it is not)
    fallbacks: int  # how many times its breaker moved it to Python


def component(name: str) -> Component:
    try:
        return Component(name.strip().lower().replace("-", "_"))
    except ValueError:
        raise ValueError(f"unknown component {name!r}; one of {', '.join(c.value for c in Component)}") from None


def check_route(c: Component, mode: str, share: int | None = None) -> Mode:
    """The route `mode` for component `c`, or ValueError saying why it cannot be."""
    if mode not in MODES:
        raise ValueError(f"unknown route {mode!r}; one of {', '.join(MODES)}")
    if mode == "shadow" and c not in SHADOWABLE:
        raise ValueError(
            f"{c.value} cannot run in shadow (only {', '.join(sorted(x.value for x in SHADOWABLE))}): "
            "a second executor would place every order twice"
        )
    if share is not None and c is not Component.EXECUTOR:
        raise ValueError("only the executor takes a Rust share")
    if share is not None and not 0 <= share <= 100:
        raise ValueError(f"the Rust share is a percentage 0-100, not {share}")
    return mode


def set_route(c: Component, mode: str, share: int | None = None) -> None:
    """Set a component's route (validated first: a bad one changes nothing)."""
    global _share
    checked = check_route(c, mode, share)
    _routes[c] = checked
    _explicit.add(c)
    if share is not None:
        _share = share
    for listener in list(_route_listeners):
        listener(c)


_route_listeners: list[Callable[[Component], None]] = []


def on_route_change(listener: Callable[[Component], None]) -> Callable[[], None]:
    """Call `listener` with the component whenever a route is set; returns the function that stops it."""
    _route_listeners.append(listener)

    def stop() -> None:
        if listener in _route_listeners:
            _route_listeners.remove(listener)

    return stop


def set_bounds(bounds: Bounds) -> None:
    for b in _breakers.values():
        b.configure(bounds)


def configured(c: Component) -> Mode:
    return _routes[c]


def rust_share() -> int:
    return _share


def label(c: Component) -> str:
    """A component's route as the audit writes it: `rust 30 %` for the executor, else the mode."""
    if not explicit(c):
        return UNSET
    mode = _routes[c]
    return f"{mode} {_share} %" if c is Component.EXECUTOR and mode == "rust" else mode


def explicit(c: Component) -> bool:
    """Whether `c`'s route was set (settings or an admin); only the strategy's may be unset."""
    return c is not Component.STRATEGY or c in _explicit


def forget_route(c: Component) -> None:
    """Back to unset (the strategy: each strategy's `impl` again); a store that failed undoes a set."""
    _explicit.discard(c)
    _routes[c] = _DEFAULTS[c]


def breaker(c: Component) -> Breaker:
    return _breakers[c]


def route(c: Component) -> Mode:
    """What serves component `c` now: its route, unless the extension is off or its breaker is open."""
    if not enabled() or _breakers[c].open:
        return "python"
    return _routes[c]


def strategy_route(impl: str) -> Mode:
    """What serves a strategy that has a Rust implementation, `impl` being its own setting
    (`strategies.<name>.impl`). The one rule: the strategy component's route decides for every such
    strategy (`python`: Python serves; `rust`: Rust serves; `shadow`: Python serves and the Rust twin
    decides beside it, compared); while that route was never set (no `[routing] strategy`, no admin's
    choice) each strategy's `impl` is its route. Below both: the extension off (TRADEBOT_RUST=0,
    `rust = false`) or the strategy breaker open means Python. Python-only strategies never ask."""
    if not enabled() or _breakers[Component.STRATEGY].open:
        return "python"
    if Component.STRATEGY in _explicit:
        return _routes[Component.STRATEGY]
    return check_route(Component.STRATEGY, impl)


def executor_uses_rust(key: str) -> bool:
    """Whether the call keyed `key` (an order's customTag; its id for modify/cancel) goes the Rust way:
    the executor routed to Rust and the key's stable hash within the Rust share."""
    if route(Component.EXECUTOR) != "rust":
        return False
    if _share >= 100:  # every key's hash is below it: no need to take it (this is asked on every order)
        return True
    return zlib.crc32(key.encode()) % 100 < _share


def reset(c: Component) -> bool:
    """Close a component's breaker (an admin's command); False when it was not open."""
    b = _breakers[c]
    was = b.tripped_at is not None
    b.reset()
    return was


def state(c: Component) -> RouteState:
    b = _breakers[c]
    configured_as = _routes[c] if explicit(c) else UNSET
    effective = route(c) if explicit(c) or not enabled() or b.open else UNSET
    off = describe() if not enabled() and configured_as != "python" else ""
    reason = off or (b.reason if b.open else "")
    return RouteState(
        c.value, configured_as, effective, _share if c is Component.EXECUTOR else None, b.open, reason, b.trips
    )


def states() -> list[RouteState]:
    return [state(c) for c in Component]


def restore_defaults() -> None:
    """Every route back to the built-in defaults, every breaker closed with no count and no listener
    (between tests)."""
    global _share
    _listeners.clear()
    _routes.update(_DEFAULTS)
    _explicit.clear()
    _share = 100
    for c in Component:
        _breakers[c] = _breaker(c.value, _breakers[c].bounds)
