"""Every open position protected at the broker: one guard on the engine's healing loop, whatever
opened the position (a strategy's fill, a trader's order, a bracket the broker rejected, the broker's
own platform) and whatever took its stop away (cancelled by hand, rejected, expired).

What counts as protection: working (open) stop or trailing-stop orders on the opposite side of the
position, on the same contract, their unfilled sizes summed. Bracket children still suspended behind
a working entry protect nothing yet; a limit (a take-profit) protects nothing. The guard's own closing
market order, while it works, counts too (it is about to reduce the position).

Every `protection.check_interval_s`, under the engine's lock, for each position of the engine's view
(the broker's positions after a reconcile, contracts no strategy trades included):

- covered: nothing to do;
- uncovered for less than `grace_s` (wall time): wait, a bracket may be about to go live;
- uncovered for `grace_s`: a stop market order for the missing size at `stop_ticks` from the
  position's average price (rounded away from the market), placed through the engine's own placement
  (intent, deterministic customTag, risk: a reducing order passes even when halted, send, settle).
  If the market is already past that level, the missing size is closed at market instead: that is
  what the stop would have done had it been there, and a stop on the wrong side of the market is
  refused by a real exchange. With `action = "flatten"` the missing size is always closed at market.
  A stop that risk refuses or the broker rejects falls back to closing at market. One alert per
  episode (keyed by the order's tag); the next attempt, if the position is still uncovered, waits
  another `grace_s`; after attempts that placed nothing (the market closed, the broker away) the
  wait doubles, up to MAX_RETRY_S, and the failure is said once per position.

Tags are `protect:<contract>:<position id>:<n>`, `n` the first number of that position whose tag the
store has not seen: a repeated check finds the stop it placed in the engine's orders; a restart finds
it at the broker (reconcile) or, when the process died between the intent and the answer, finds the
unsettled intent and leaves it to the healer, which looks it up by tag. Nothing is placed twice.

The guard's own stops never do more than close their position: one whose position is gone (closed by
a strategy, a trader, the flatten job: closeContract leaves working orders in place) or turned is
cancelled, and when all the stops of a contract exceed its position (a trader closed part of it, a
strategy placed its own stop) the guard's are cut by the excess, newest first (resized, or cancelled),
once that has lasted `grace_s`: left working, they would open a new, naked position when hit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from trading import notifications
from trading.clock import Clock
from trading.config import Settings
from trading.domain import (
    Contract,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Rounding,
    Side,
)
from trading.engine.order_index import OrderIndex
from trading.engine.order_path import OrderPath
from trading.projectx.errors import ProjectXError
from trading.projectx.rest import ProjectXClient
from trading.store import Store

log = logging.getLogger(__name__)

PREFIX = "protect:"
STOPS = (OrderType.STOP, OrderType.TRAILING_STOP)
LIVE = (OrderStatus.OPEN, OrderStatus.PENDING)  # suspended children and pending cancels protect nothing
MAX_RETRY_S = 300.0  # attempts that placed nothing (the market closed, the broker away) back off up to this


class Submission(Protocol):
    """What became of an order the engine was asked to place (core.py's `Submitted`)."""

    @property
    def order_id(self) -> int | None: ...

    @property
    def refused(self) -> str: ...

    @property
    def rejected(self) -> str: ...


class ProtectedEngine(Protocol):
    """The engine (core.py) as the guard reads and acts on it."""

    settings: Settings
    store: Store
    client: ProjectXClient
    clock: Clock
    account_id: int
    path: OrderPath
    book: OrderIndex
    positions: dict[str, Position]
    contracts: dict[str, Contract]
    symbol_of: dict[str, str]
    _lock: asyncio.Lock

    def last_price(self, symbol: str) -> Decimal | None: ...

    async def _submit(self, request: OrderRequest, source: str) -> Submission: ...


@dataclass
class ProtectionStats:
    """What the guard did (status commands, tests)."""

    checks: int = 0
    stops: int = 0  # protective stops placed
    flattens: int = 0  # uncovered sizes closed at market
    failures: int = 0  # episodes where neither worked
    cancelled: int = 0  # own stops cancelled: their position gone or turned, or covered by other stops
    resized: int = 0  # own stops reduced to what their position still needs


def closing_side(position: Position) -> Side:
    return Side.SELL if position.side is PositionSide.LONG else Side.BUY


def covered(position: Position, orders: list[Order]) -> int:
    """Contracts of `position` that working orders at the broker would close (see the module notes)."""
    side = closing_side(position)
    return sum(
        max(0, o.size - o.fill_volume)
        for o in orders
        if o.contract_id == position.contract_id
        and o.side is side
        and o.status in LIVE
        and (o.type in STOPS or (o.custom_tag or "").startswith(PREFIX))
    )


def stop_level(position: Position, contract: Contract, ticks: int) -> Decimal:
    """`ticks` from the average price on the losing side, on the tick grid, rounded away from it."""
    distance = ticks * contract.tick_size
    if position.side is PositionSide.LONG:
        return contract.snap(position.average_price - distance, Rounding.DOWN)
    return contract.snap(position.average_price + distance, Rounding.UP)


def past(position: Position, level: Decimal, last: Decimal | None) -> bool:
    """The market already traded through the stop's level (a stop there would fill at once)."""
    if last is None:
        return False
    return last <= level if position.side is PositionSide.LONG else last >= level


class Protection:
    def __init__(self, engine: ProtectedEngine) -> None:
        self.engine = engine
        self.cfg = engine.settings.protection
        self.stats = ProtectionStats()
        self._uncovered_since: dict[str, float] = {}  # contract id -> monotonic time first seen uncovered
        self._failed: dict[str, int] = {}  # contract id -> attempts in a row that placed nothing
        self._excess_since: dict[str, float] = {}  # contract id -> monotonic time its own stops exceeded it
        self._contracts: dict[str, Contract] = {}  # contracts of positions the engine does not follow
        self._next = 0.0

    async def check(self) -> None:
        """One pass when its interval has come (the healer calls this on every tick while ready)."""
        if not self.cfg.enabled or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.cfg.check_interval_s
        e = self.engine
        async with e._lock:
            self.stats.checks += 1
            now = time.monotonic()
            for cid, position in list(e.positions.items()):
                missing = position.size - covered(position, list(e.book.working.values()))
                if position.size <= 0 or missing <= 0:
                    self._uncovered_since.pop(cid, None)
                    self._failed.pop(cid, None)
                    continue
                failed = self._failed.get(cid, 0)
                wait = self.cfg.grace_s if not failed else min(MAX_RETRY_S, max(1.0, self.cfg.grace_s) * 2**failed)
                if now - self._uncovered_since.setdefault(cid, now) < wait:
                    continue
                self._failed[cid] = 0 if await self._protect(position, missing) else failed + 1
                self._uncovered_since[cid] = time.monotonic()  # another attempt only after another wait
            for cid in self._uncovered_since.keys() - e.positions.keys():
                del self._uncovered_since[cid]
                self._failed.pop(cid, None)
            await self._trim_own(now)

    # ------------------------------------------------------------------ protecting one position
    async def _protect(self, position: Position, missing: int) -> bool:
        """Place what protects the position; False when nothing could be placed (alerted once)."""
        e = self.engine
        cid = position.contract_id
        prefix = f"{PREFIX}{cid}:{position.id if position.id is not None else _opened(position)}:"
        try:
            contract = await self._contract(cid)
            tag = await self._free_tag(prefix)
            if tag is None:
                return True  # an earlier attempt's intent is still being settled by the healer (by its tag)
            last = e.last_price(contract.symbol) if e.symbol_of.get(cid) == contract.symbol else None
            level = stop_level(position, contract, self.cfg.stop_ticks)
            if self.cfg.action == "flatten":
                reason = "protection.action is flatten: the uncovered size is closed at market"
            elif past(position, level, last):
                reason = f"the market ({last}) is already past the stop level {level}: closed at market instead"
            else:
                sent = await e._submit(self._request(position, missing, tag, level), "protection")
                if sent.order_id is not None or not (sent.refused or sent.rejected):
                    self.stats.stops += 1
                    why = f"no working stop for {missing} of {position.size}; stop placed {self.cfg.stop_ticks} ticks"
                    await self._alert("stop", position, contract, missing, tag, why, level, last)
                    return True
                reason = f"the protective stop was not placed ({sent.refused or sent.rejected}): closed at market"
                tag = await self._free_tag(prefix)
                if tag is None:
                    return True
            sent = await e._submit(self._request(position, missing, tag, None), "protection")
            if sent.refused or sent.rejected:
                self.stats.failures += 1
                why = f"{reason}; the closing order was not placed either: {sent.refused or sent.rejected}"
                await self._alert("failed", position, contract, missing, prefix, why, None, last)
                return False
            self.stats.flattens += 1
            await self._alert("flatten", position, contract, missing, tag, reason, None, last)
            return True
        except ProjectXError as exc:  # the broker away: the next attempt, after a longer wait, tries again
            self.stats.failures += 1
            log.warning("protecting %s failed: %s", cid, exc)
            text = f"{position.side.value} {position.size} {cid}: the guard could not act ({exc}); retrying"
            await e.store.outbox.enqueue(
                NotificationKind.RISK,
                dict(notifications.alert("Unprotected position", text)),
                dedupe_key=f"protection-error-{prefix}",
            )
            return False

    def _request(self, position: Position, size: int, tag: str, level: Decimal | None) -> OrderRequest:
        return OrderRequest(
            account_id=self.engine.account_id,
            contract_id=position.contract_id,
            side=closing_side(position),
            type=OrderType.STOP if level is not None else OrderType.MARKET,
            size=size,
            custom_tag=tag,
            stop_price=level,
            reason="protection",
        )

    async def _contract(self, contract_id: str) -> Contract:
        e = self.engine
        symbol = e.symbol_of.get(contract_id)
        if symbol is not None:
            return e.contracts[symbol]
        if contract_id not in self._contracts:  # another month of a followed symbol, or not followed yet
            self._contracts[contract_id] = await e.client.contract_by_id(contract_id)
        return self._contracts[contract_id]

    async def _free_tag(self, prefix: str) -> str | None:
        """The first tag of the position the store has not seen; None while one of them is an intent the
        broker has not answered yet (the healer settles it by its tag: sending another would double it)."""
        n = 0
        while True:
            stored = await self.engine.store.orders.by_tag(f"{prefix}{n}")
            if stored is None:
                return f"{prefix}{n}"
            if stored.status is OrderStatus.INTENT and stored.id is None:
                return None
            n += 1

    async def _alert(
        self,
        action: Literal["stop", "flatten", "failed"],
        position: Position,
        contract: Contract,
        missing: int,
        tag: str,
        reason: str,
        level: Decimal | None,
        last: Decimal | None,
    ) -> None:
        log.warning("unprotected position %s %s %s: %s (%s)", position.side.value, position.size, tag, action, reason)
        payload = notifications.protection(
            action, position, contract, uncovered=missing, custom_tag=tag, reason=reason, stop_price=level,
            last_price=last,
        )  # fmt: skip
        await self.engine.store.outbox.enqueue(NotificationKind.RISK, dict(payload), dedupe_key=f"protection-{tag}")

    # ------------------------------------------------------------------ the guard's own stops left behind
    async def _trim_own(self, now: float) -> None:
        """Cut the guard's own stops that would do more than close their position: every one whose
        position is gone or turned (cancelled), and, newest first, the size by which all the stops of
        a contract exceed its position (a trader closed part of it, a strategy placed its own stop)."""
        e = self.engine
        orders = list(e.book.working.values())  # LIVE orders are working ones
        own: dict[str, list[Order]] = {}
        for o in orders:
            if (o.custom_tag or "").startswith(PREFIX) and o.type in STOPS and o.status in LIVE and o.id is not None:
                own.setdefault(o.contract_id, []).append(o)
        for cid in self._excess_since.keys() - own.keys():
            del self._excess_since[cid]
        for cid, stops in own.items():
            p = e.positions.get(cid)
            held = p is not None and p.size > 0
            wrong = [o for o in stops if p is None or not held or o.side is not closing_side(p)]
            right = sorted((o for o in stops if o not in wrong), key=lambda o: o.id or 0, reverse=True)
            excess = max(0, covered(p, orders) - p.size) if p is not None and held else 0
            if not wrong and not excess:
                self._excess_since.pop(cid, None)
                continue
            if now - self._excess_since.setdefault(cid, now) < self.cfg.grace_s:
                continue
            cuts = [(o, 0) for o in wrong]
            for o in right:
                cut = min(excess, o.size - o.fill_volume)
                if cut <= 0:
                    break
                cuts.append((o, o.size - cut if cut < o.size - o.fill_volume else 0))
                excess -= cut
            for o, keep in cuts:
                await self._cut(o, keep)
            self._excess_since[cid] = time.monotonic()  # still too much after this: another grace

    async def _cut(self, o: Order, keep: int) -> None:
        """Cancel one of the guard's stops (`keep` 0) or reduce it to `keep` contracts."""
        e = self.engine
        assert o.id is not None
        try:
            if keep:
                await e.path.modify(e.account_id, o.id, size=keep)
                self.stats.resized += 1
            else:
                await e.path.cancel(e.account_id, o.id)
                self.stats.cancelled += 1
            log.info("protective stop #%s (%s) %s: beyond its position", o.id, o.custom_tag, keep or "cancelled")
        except ProjectXError as exc:
            log.warning("cutting the protective stop #%s failed: %s; retrying", o.id, exc)


def _opened(position: Position) -> str:
    return str(int(position.opened_at.timestamp())) if position.opened_at is not None else "0"
