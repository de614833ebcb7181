"""Copy mode: a leader account's entries, exits and stop changes mirrored on its followers (`follow`
in a follower's `[[accounts]]` table), each follower sized by its own rule and screened by its own risk.

- What is mirrored is the leader's broker truth, whoever traded it (a strategy, a slash command, or a
  trader on the broker's own platform): every new fill of the leader (the user hub, or a reconcile that
  found it) moves the follower towards its target position, the leader's net position under the
  follower's size rule, with a market order tagged `copy:<leader fill id>` (a restart never sends it
  twice). Every working stop of the leader has a twin on the follower (same side and price, the
  follower's size, tagged `copy-stop:<leader order id>`), moved when the leader's moves and cancelled
  when it goes. When a leader stop with a twin fills, the twin is cancelled first: a twin that filled
  too cannot be cancelled, and the follower's position is then read at the broker before anything is
  sent, so an exit never goes out twice.
- A follower's risk refusing (or its broker rejecting) a mirror order is reported on the follower's
  notifications, never dropped; the follower stays where it is (behind the leader, never beyond it).
- A follower never keeps a position the leader does not have: seen twice in a row (DIVERGENCE_CHECKS,
  every CHECK_S, nothing of the copier in flight), the follower's position in that contract is closed
  and an alert says so.
- The mirror latency, from the leader engine taking the fill to the follower's order request, is a
  latency stage (`mirror`, on the follower's order path) and shows in `/stats latency`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from trading import notifications
from trading.config import AccountSettings
from trading.domain import Fill, NotificationKind, Order, OrderRequest, OrderStatus, OrderType, PositionSide, Side
from trading.engine.core import Engine
from trading.metrics import stage
from trading.projectx.errors import ProjectXError

log = logging.getLogger(__name__)

STOP_S = 10.0  # a stop waits this long for each copy loop to end
CHECK_S = 1.0  # how often followers are compared with the leader
DIVERGENCE_CHECKS = 2  # a follower ahead of the leader this many checks in a row is flattened
STOP_TYPES = (OrderType.STOP, OrderType.TRAILING_STOP)
MIRROR_STAGE = stage("mirror")  # stage.mirror: in the stage table, Prometheus and the store


@dataclass
class Follower:
    engine: Engine
    plan: AccountSettings
    expected: dict[str, int] = field(default_factory=dict)  # contract id -> net the copier moved it to
    twins: dict[int, int] = field(default_factory=dict)  # leader stop id -> follower twin stop id
    twin_contract: dict[int, str] = field(default_factory=dict)  # leader stop id -> its contract id
    ahead: dict[str, int] = field(default_factory=dict)  # contract id -> checks seen ahead of the leader

    def target(self, leader_net: int) -> int:
        if leader_net == 0:
            return 0
        # The follower engine's rule as it is now (an admin's /account size applies at once), else its table.
        plan = self.engine.plan or self.plan
        return (1 if leader_net > 0 else -1) * plan.sized(abs(leader_net))

    @property
    def name(self) -> str:
        return self.engine.account_name or str(self.engine.account_id)


@dataclass(frozen=True, slots=True)
class _FillSeen:
    fill: Fill
    seen_ns: int


@dataclass(frozen=True, slots=True)
class _OrderSeen:
    order: Order
    before: Order | None


class Copier:
    """One leader and its followers (engines of this process, started)."""

    def __init__(self, leader: Engine, followers: list[tuple[Engine, AccountSettings]]) -> None:
        self.leader = leader
        self.followers = [Follower(e, plan) for e, plan in followers]
        self.queue: asyncio.Queue[_FillSeen | _OrderSeen] = asyncio.Queue()
        self.leader_net: dict[str, int] = {cid: _net(p.side, p.size) for cid, p in leader.positions.items()}
        for f in self.followers:
            f.expected = {cid: _net(p.side, p.size) for cid, p in f.engine.positions.items()}
        self.mirrored = 0  # leader events handled (tests wait on it)
        self.busy = False

    # ------------------------------------------------------------------ the leader engine's watcher face
    def fill(self, fill: Fill, seen_ns: int) -> None:
        self.queue.put_nowait(_FillSeen(fill, seen_ns))

    def order(self, order: Order, before: Order | None) -> None:
        if order.type in STOP_TYPES:
            self.queue.put_nowait(_OrderSeen(order, before))

    @property
    def idle(self) -> bool:
        return self.queue.empty() and not self.busy

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        self.leader.watchers.append(self)
        try:
            while True:
                try:
                    # asyncio.timeout, never wait_for: on 3.11 a wait_for cancelled just as its queue.get()
                    # completes returns the item and swallows the cancellation, and this loop (and the
                    # stop awaiting it) would run for ever
                    async with asyncio.timeout(CHECK_S):
                        item = await self.queue.get()
                except TimeoutError:
                    await self.check()
                    continue
                self.busy = True
                try:
                    if isinstance(item, _FillSeen):
                        await self._on_fill(item.fill, item.seen_ns)
                    else:
                        await self._on_stop(item.order, item.before)
                except Exception:
                    log.exception("copy of %s's event failed", self.leader.account_name)
                finally:
                    self.busy = False
                    self.mirrored += 1
        finally:
            with contextlib.suppress(ValueError):
                self.leader.watchers.remove(self)

    # ------------------------------------------------------------------ fills: entries and exits
    async def _on_fill(self, fill: Fill, seen_ns: int) -> None:
        if fill.voided:
            return
        cid = fill.contract_id
        self.leader_net[cid] = self.leader_net.get(cid, 0) + (fill.size if fill.side is Side.BUY else -fill.size)
        from_twinned_stop = fill.order_id in {lid for f in self.followers for lid in f.twins}
        for f in self.followers:
            twin = f.twins.pop(fill.order_id, None)
            if twin is not None:
                await self._cancel_quietly(f, twin)
            if from_twinned_stop:  # the twin may have filled too: the broker says where the follower is
                f.expected[cid] = await self._broker_net(f, cid)
            await self._move(f, cid, fill, seen_ns)

    async def _move(self, f: Follower, cid: str, fill: Fill, seen_ns: int) -> None:
        target = f.target(self.leader_net[cid])
        delta = target - f.expected.get(cid, 0)
        if delta == 0:
            return
        request = OrderRequest(
            f.engine.account_id,
            cid,
            Side.BUY if delta > 0 else Side.SELL,
            OrderType.MARKET,
            abs(delta),
            f"copy:{fill.id}",
            reason=f"copy of {self.leader.account_name} fill {fill.id}",
        )
        f.engine.metrics.record(MIRROR_STAGE, f.engine.path.path, time.perf_counter_ns() - seen_ns)
        out = await f.engine.submit(request, "copy")
        if out.refused or out.rejected:
            await self._refused(f, request, out.refused or out.rejected, fill)
            return
        f.expected[cid] = target
        if target == 0:  # flat: a twin stop left working could open a position the leader does not have
            await self._drop_twins(f, cid)

    async def _refused(self, f: Follower, request: OrderRequest, why: str, fill: Fill) -> None:
        text = (
            f"{self.leader.account_name} {fill.side.value} {fill.size} filled; {f.name} did not follow "
            f"({request.side.value} {request.size}): {why}"
        )
        await f.engine.store.outbox.enqueue(
            NotificationKind.RISK,
            dict(notifications.risk("Copy refused", text, custom_tag=request.custom_tag)),
            dedupe_key=f"copy-refused-{fill.id}",
        )

    # ------------------------------------------------------------------ stops
    async def _on_stop(self, order: Order, before: Order | None) -> None:
        if order.id is None:
            return
        working = order.status in (OrderStatus.OPEN, OrderStatus.PENDING)
        for f in self.followers:
            twin = f.twins.get(order.id)
            if twin is None and working and order.stop_price is not None:
                await self._place_twin(f, order)
            elif twin is not None and working and before is not None and order.stop_price != before.stop_price:
                try:
                    await f.engine.modify_order(twin, stop_price=order.stop_price)
                except ProjectXError as exc:
                    await self._alert(f, "Copy stop not moved", f"twin of stop #{order.id}: {exc}", f"move-{order.id}")
            elif twin is not None and order.status in (
                OrderStatus.CANCELLED,
                OrderStatus.EXPIRED,
                OrderStatus.REJECTED,
            ):
                f.twins.pop(order.id, None)
                await self._cancel_quietly(f, twin)

    async def _place_twin(self, f: Follower, order: Order) -> None:
        held = f.expected.get(order.contract_id, 0)
        closes = (held > 0 and order.side is Side.SELL) or (held < 0 and order.side is Side.BUY)
        if not closes:
            return  # nothing of the follower's for this stop to protect
        assert order.id is not None
        request = OrderRequest(
            f.engine.account_id,
            order.contract_id,
            order.side,
            OrderType.STOP,
            abs(held),
            f"copy-stop:{order.id}",
            stop_price=order.stop_price,
            reason=f"copy of {self.leader.account_name} stop #{order.id}",
        )
        out = await f.engine.submit(request, "copy")
        if out.order_id is not None:
            f.twins[order.id] = out.order_id
            f.twin_contract[order.id] = order.contract_id
        elif out.refused or out.rejected:
            await self._alert(f, "Copy stop refused", out.refused or out.rejected, f"stop-{order.id}")

    # ------------------------------------------------------------------ divergence
    async def check(self) -> None:
        """A follower holding what the leader does not (seen DIVERGENCE_CHECKS times): closed, alerted."""
        lead = {cid: _net(p.side, p.size) for cid, p in self.leader.positions.items() if p.size}
        for f in self.followers:
            held = {cid: _net(p.side, p.size) for cid, p in f.engine.positions.items() if p.size}
            for cid in set(held) | set(f.ahead):
                mine, theirs = held.get(cid, 0), lead.get(cid, 0)
                beyond = mine != 0 and (theirs == 0 or (mine > 0) != (theirs > 0))
                if not beyond or not self.idle:
                    f.ahead.pop(cid, None)
                    continue
                f.ahead[cid] = f.ahead.get(cid, 0) + 1
                if f.ahead[cid] < DIVERGENCE_CHECKS:
                    continue
                f.ahead.pop(cid, None)
                await self._flatten(f, cid, mine, theirs)

    async def _flatten(self, f: Follower, cid: str, mine: int, theirs: int) -> None:
        await self._drop_twins(f, cid)
        why = f"{f.name} held {mine:+d} of {cid} while {self.leader.account_name} held {theirs:+d}"
        try:
            await f.engine.close_position(cid)
            f.expected[cid] = 0
            await self._alert(f, "Copy divergence: follower flattened", why, f"diverged-{cid}-{mine}", urgent=True)
        except ProjectXError as exc:
            await self._alert(f, "Copy divergence: flatten failed", f"{why}; {exc}", None, urgent=True)

    # ------------------------------------------------------------------ helpers
    async def _drop_twins(self, f: Follower, cid: str) -> None:
        for lid, twin in list(f.twins.items()):
            if f.twin_contract.get(lid) == cid:
                f.twins.pop(lid, None)
                await self._cancel_quietly(f, twin)

    async def _cancel_quietly(self, f: Follower, order_id: int) -> None:
        with contextlib.suppress(ProjectXError):  # already filled or cancelled: nothing left to cancel
            await f.engine.cancel_order(order_id)

    async def _broker_net(self, f: Follower, cid: str) -> int:
        for p in await f.engine.client.open_positions(f.engine.account_id):
            if p.contract_id == cid:
                return _net(p.side, p.size)
        return 0

    async def _alert(self, f: Follower, title: str, text: str, key: str | None, *, urgent: bool = False) -> None:
        day = f.engine.clock.now().date().isoformat()
        await f.engine.store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(notifications.alert(title, text, urgent=urgent)),
            dedupe_key=None if key is None else f"copy-{key}-{day}",
        )


def _net(side: PositionSide, size: int) -> int:
    return size if side is PositionSide.LONG else -size


def copiers_for(engines: dict[str, Engine], plans: list[AccountSettings]) -> list[Copier]:
    """One copier per leader among `plans` (by the followers' `follow`), over the engines by account name
    (lower case). A follower or leader without an engine here is left out."""
    out: list[Copier] = []
    for leader_name in sorted({p.follow.strip().lower() for p in plans if p.follow}):
        leader = engines.get(leader_name)
        followers = [
            (engines[p.name.strip().lower()], p)
            for p in plans
            if p.follow.strip().lower() == leader_name and p.name.strip().lower() in engines
        ]
        if leader is not None and followers:
            out.append(Copier(leader, followers))
    return out


@contextlib.asynccontextmanager
async def running(copiers: list[Copier]) -> AsyncIterator[list[Copier]]:
    """The copiers' loops for the block's duration."""
    tasks = [asyncio.create_task(c.run(), name=f"copy-{c.leader.account_id}") for c in copiers]
    try:
        yield copiers
    finally:
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: a loop that swallowed its cancel is said and left behind, never waited on for ever
            done, stuck = await asyncio.wait(tasks, timeout=STOP_S)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("copy loop %s failed: %r", task.get_name(), task.exception())
            for task in stuck:
                log.error("copy loop %s did not end within %.0f s of its cancel; left behind", task.get_name(), STOP_S)
