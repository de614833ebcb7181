"""`/strategy test`: what a strategy would do at today's open, computed on the engine's data, placing nothing.

A fresh instance of the strategy (no saved state, so a day already opened is worked out again) runs
its OPEN step against a `DryRunContext`: reads come from the engine's bars, quotes, orders and
account; `propose` answers with risk's verdict (the engine's exposure plus what this dry run already
approved) and records the request; cancels, stop moves and notifications are dropped. Nothing is
queued on the engine, so nothing can reach the broker or the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading.calendar import TradingDay, to_ny
from trading.domain import Contract, Decision, NotificationKind, Order, OrderRequest, Position, Quote
from trading.engine.context import EngineContext
from trading.engine.core import Engine
from trading.marketdata.aggregation import BarArrays
from trading.risk import WorkingOrder
from trading.strategies.base import AccountInfo, SessionEvent


@dataclass(frozen=True, slots=True)
class Proposal:
    request: OrderRequest
    decision: Decision


class DryRunContext:
    def __init__(self, engine: Engine, name: str, at: datetime) -> None:
        self.engine = engine
        self.name = name
        self.at = at
        self.live = EngineContext(engine, name)
        self.proposals: list[Proposal] = []
        self._approved: list[WorkingOrder] = []

    def now(self) -> datetime:
        return self.at

    def contract(self, symbol: str) -> Contract:
        return self.live.contract(symbol)

    def bars(self, symbol: str, start: datetime, end: datetime) -> BarArrays:
        return self.engine.bar_cache(symbol).window(start, end, min(self.at, self.engine.clock.now()))

    def last_price(self, symbol: str) -> Decimal | None:
        return self.live.last_price(symbol)

    def quote(self, symbol: str) -> Quote | None:
        return self.live.quote(symbol)

    def orders(self) -> list[Order]:
        return []  # a fresh start of the day: none of its own yet

    def working_orders(self) -> list[Order]:
        return []

    def position(self, symbol: str) -> Position | None:
        return self.live.position(symbol)

    def account(self) -> AccountInfo:
        return self.live.account()

    def propose(self, request: OrderRequest) -> Decision:
        if not self.engine.ready:
            decision = Decision(False, "the engine has not reconciled with the broker yet")
        else:
            exposure = self.engine.exposure()
            exposure = replace(exposure, working=[*exposure.working, *self._approved])
            decision = self.engine.risk.check(request, exposure, self.at)
        if decision:
            self._approved.append(WorkingOrder(request.contract_id, request.side, request.size))
        self.proposals.append(Proposal(request, decision))
        return decision

    def cancel(self, order: Order) -> None:
        pass

    def modify_stop(self, order: Order, price: Decimal) -> None:
        pass

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None:
        pass


def describe_order(request: OrderRequest) -> str:
    price = request.stop_price if request.stop_price is not None else request.limit_price
    text = f"{request.side.value.upper()} {request.size} {request.type.value}"
    if price is not None:
        text += f" @ {price}"
    b = request.bracket
    if b is not None:
        legs = [f"SL {b.stop_loss_ticks} ticks" if b.stop_loss_ticks is not None else ""]
        legs.append(f"TP {b.take_profit_ticks} ticks" if b.take_profit_ticks is not None else "")
        text += " bracket " + ", ".join(x for x in legs if x)
    return text


def dry_run(engine: Engine, name: str, day: TradingDay) -> dict[str, dict[str, Any]]:
    """Per symbol: levels (when the strategy has them), orders it would place, sides it would skip and why."""
    at = max(engine.clock.now(), day.rth_open)
    ctx = DryRunContext(engine, name, at)
    strategy = engine.strategy_routes.create(name, ctx)  # the implementation the route serves now
    strategy.on_session_event(SessionEvent.OPEN, day)
    state = strategy.on_save()
    days = state.get("symbols", {}) if isinstance(state, dict) else {}
    levels = getattr(strategy, "levels", None)
    out: dict[str, dict[str, Any]] = {}
    for symbol in strategy.symbols:
        contract = engine.contracts.get(symbol)
        row: dict[str, Any] = {"as of": f"{to_ny(at):%Y-%m-%d %H:%M} ET", "orders": [], "skipped": []}
        if levels is not None and contract is not None:
            row["levels"] = levels(symbol, day, min(at, day.window_end)).as_json(contract.tick_size)
        for p in ctx.proposals:
            if contract is None or p.request.contract_id != contract.id:
                continue
            if p.decision:
                row["orders"].append(describe_order(p.request))
            else:
                row["skipped"].append(f"{p.request.side.value}: refused by risk: {p.decision.reason}")
        sd = days.get(symbol, {}) if isinstance(days, dict) else {}
        if sd.get("blocked"):
            row["skipped"].append(f"both sides: {sd['blocked']}")
        for side in (sd.get("sides") or {}).values():
            if side.get("status") == "skipped":
                row["skipped"].append(f"{side['side']} at {side['level']}: {side['note']}")
        out[symbol] = row
    return out
