"""Which implementation serves each component, and the shadow runs' parity: /stats route, /stats
parity and `tradebot route show|set|reset` (trading/native.py answers; this layer validates, stores,
audits and applies)."""

from __future__ import annotations

from dataclasses import dataclass

from trading import native
from trading.engine import routes
from trading.services.errors import BadInput
from trading.services.operator import Operator
from trading.store.routes import ParityCount, RouteChange

MAX_BY = 100


@dataclass(frozen=True)
class RoutesView:
    routes: list[native.RouteState]
    changes: list[RouteChange]  # newest first
    executor_fallbacks: int  # Rust executor calls served by Python (a binding error or a panic)


@dataclass(frozen=True)
class ParityView:
    compared: dict[str, int]  # comparisons made, by component
    mismatches: list[ParityCount]  # by component and kind


def route_text(state: native.RouteState) -> str:
    """`rust (50 % of orders)`, `python (breaker: ...)`: what an operator reads."""
    if state.effective == native.UNSET:
        return "each strategy's impl setting (no route set)"
    text = state.effective
    if state.share is not None and state.effective == "rust":
        text += f" ({state.share} % of orders)"
    if state.effective != state.configured:
        text += f", routed {state.configured}"
    if state.reason:
        text += f": {state.reason}"
    return text


route_label = native.label  # the audit's words for a route (`rust 30 %`)


class Routing(Operator):
    def executor_fallbacks(self) -> int:
        return int(getattr(self.engine.path, "fallbacks", 0))

    async def routes(self, changes: int = 10) -> RoutesView:
        return RoutesView(native.states(), await self.store.routes.changes(changes), self.executor_fallbacks())

    async def set_route(self, component: str, mode: str, share: int | None = None, by: str = "") -> RoutesView:
        """An admin's route for a component: validated (a bad one changes nothing), stored, audited
        (who, when, old -> new) and applied now (a stream moves at once)."""
        try:
            c = native.component(component)
            checked = native.check_route(c, mode.strip().lower(), share)
        except ValueError as exc:
            raise BadInput(f"{exc}: nothing changed") from None
        old, old_mode, old_share = route_label(c), native.configured(c), native.rust_share()
        was_set = native.explicit(c)
        if was_set and checked == old_mode and (share is None or share == old_share):
            raise BadInput(f"{c.value} is already routed {old}: nothing changed")
        native.set_route(c, checked, share)
        new = route_label(c)
        try:
            await self.store.routes.set(c.value, checked, share, by[:MAX_BY], old, new)
        except Exception:
            if was_set:
                native.set_route(c, old_mode, old_share if share is not None else None)  # not stored: not changed
            else:
                native.forget_route(c)
            raise
        await self.follow_routes()
        return await self.routes()

    async def follow_routes(self) -> None:
        """The routes applied now: a stream moves at once, a strategy is swapped between two events."""
        await routes.follow(self.engine.market_stream, self.engine.user_stream)
        follow_strategies = getattr(self.engine, "follow_strategy_routes", None)
        if follow_strategies is not None:
            await follow_strategies()

    async def reset_route(self, component: str, by: str = "") -> RoutesView:
        """Close a tripped breaker (an admin's command): the component goes back to its route."""
        try:
            c = native.component(component)
        except ValueError as exc:
            raise BadInput(f"{exc}: nothing changed") from None
        if not native.reset(c):
            raise BadInput(f"{c.value} is not held on Python by its breaker: nothing changed")
        await self.store.routes.audit(c.value, "python", route_label(c), by[:MAX_BY], "breaker reset by an admin")
        await self.follow_routes()
        return await self.routes()

    async def parity(self) -> ParityView:
        for comparator in self.engine.comparators:
            await routes.count_compared(self.store, comparator)
        return ParityView(await self.store.routes.compared(), await self.store.routes.parity())
