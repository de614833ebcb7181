"""The engine's hold on its account: one active instance per account, another waits as hot standby.

`hold_account` is the first thing `Engine.start` does: it waits (logging "standby: account N is held
by another instance") until this process holds the account's lease (`trading/store/lease.py`), so a
standby restores strategy state, reconciles and trades only after the primary is gone. While it
runs, a guard watches the lease: if its connection is lost (a database restart), the engine stops
trading at once (`ready = False`: risk refuses every new order; the order path sends nothing) until
it holds the lease again, then reconciles before it trades: never two instances trading. If another
instance took the account meanwhile, this one handles nothing (its lock held) while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from decimal import Decimal
from typing import Any, Protocol

from trading.config import Settings
from trading.domain import NotificationKind, OrderRequest
from trading.engine.order_path import OrderPath
from trading.notifications import alert
from trading.projectx.errors import ProjectXError
from trading.store import Store
from trading.store.lease import AccountLease

log = logging.getLogger(__name__)


class LeasedEngine(Protocol):
    """The engine (core.py) as its hold on the account gates and pauses it."""

    settings: Settings
    store: Store
    account_id: int
    path: OrderPath
    ready: bool
    _lock: asyncio.Lock

    def _spawn(self, coro: Any, name: str) -> None: ...

    async def reconcile(self) -> object: ...


_HOLDS: weakref.WeakKeyDictionary[LeasedEngine, AccountLease] = weakref.WeakKeyDictionary()


class AccountNotHeld(ProjectXError):
    """This instance does not hold its account's lease (another one may be trading it): nothing is sent."""


class LeasedPath:
    """The engine's order path, gated on the lease: while it is not held nothing reaches the broker,
    whoever asks (a handler already past its risk check, a manual order, the healer). A placement is
    refused (it stays an intent, settled by its tag once the lease is back: the other instance may
    have placed it meanwhile); a cancel, modify or close waits for the lease, then goes (done late it
    is never a second order, and dropping it would leave, say, the opposite entry of a fill working)."""

    def __init__(self, inner: OrderPath, lease: AccountLease) -> None:
        self.inner = inner
        self.lease = lease

    def _refuse_unless_held(self) -> None:
        if not self.lease.held:
            raise AccountNotHeld(
                f"this instance does not hold account {self.lease.account_id} (another may be trading it): not sent"
            )

    @property
    def path(self) -> str:
        return self.inner.path

    @property
    def fallbacks(self) -> int:
        return int(getattr(self.inner, "fallbacks", 0))

    @property
    def answer_counts(self) -> dict[str, int] | None:
        counts: dict[str, int] | None = getattr(self.inner, "answer_counts", None)
        return counts

    async def place(self, request: OrderRequest) -> int:
        self._refuse_unless_held()
        return await self.inner.place(request)

    async def cancel(self, account_id: int, order_id: int) -> None:
        await self.lease.wait_held()
        await self.inner.cancel(account_id, order_id)

    async def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        await self.lease.wait_held()
        await self.inner.modify(account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price)

    async def close(self, account_id: int, contract_id: str) -> None:
        await self.lease.wait_held()
        await self.inner.close(account_id, contract_id)


async def hold_account(engine: LeasedEngine) -> AccountLease:
    """Wait until this process holds the engine's account; then guard the hold while the engine runs
    (its order path refuses to send anything while the lease is not held)."""
    lease = AccountLease(engine.store.db, engine.account_id)
    _HOLDS[engine] = lease
    waiting = asyncio.create_task(_say_standby(engine, lease), name="account-standby")
    try:
        await lease.acquire()
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await waiting
    if not isinstance(engine.path, LeasedPath):
        engine.path = LeasedPath(engine.path, lease)
    else:
        engine.path.lease = lease
    engine._spawn(_guard(engine, lease), "account-lease")
    return lease


def account_lease(engine: LeasedEngine) -> AccountLease | None:
    """The lease the engine holds (or waits for); None before start and after stop."""
    return _HOLDS.get(engine)


async def release_account(engine: LeasedEngine) -> None:
    """Let the account go (at stop): a standby takes it within a poll."""
    lease = _HOLDS.pop(engine, None)
    if lease is not None:
        with contextlib.suppress(Exception):  # `tradebot status` no longer lists this instance
            async with asyncio.timeout(lease.check_s * 5):  # not wait_for: see trading/engine/copy.py run()
                await engine.store.control.gone()
        await lease.release()


async def _say_standby(engine: LeasedEngine, lease: AccountLease) -> None:
    """While another instance holds the account, say so in the store (`tradebot status` lists standbys)."""
    mode = engine.settings.app.mode
    while True:
        await asyncio.sleep(lease.poll_s)
        if lease.held_elsewhere:
            with contextlib.suppress(Exception):  # the database may be away: the wait goes on regardless
                await engine.store.control.publish(engine.account_id, "standby", mode, {})


async def _guard(engine: LeasedEngine, lease: AccountLease) -> None:
    while True:
        try:
            await lease.lost()
        except Exception:  # whatever went wrong, the lock can no longer be trusted
            log.exception("account %s: lease check failed", engine.account_id)
        engine.ready = False  # first: risk refuses every new order from here on (and the path sends nothing)
        fast = getattr(engine, "fast_path", None)
        if fast is not None:  # nor a stop move without Python (armed again after the next handler)
            fast.close()
        log.error("account %s: lease lost; not trading until it is held again", engine.account_id)
        # While the database is away nobody can take the account: events go on being handled (the
        # healer holds what the store cannot take). Once another instance holds it, this one is a
        # standby: nothing handled, placed or reconciled until the account is back.
        while not await lease.try_acquire():
            if lease.held_elsewhere:
                async with engine._lock:
                    engine.ready = False
                    await lease.acquire()
                break
            await asyncio.sleep(lease.poll_s)
        log.warning("account %s: lease held again; reconciling before trading", engine.account_id)
        with contextlib.suppress(Exception):
            text = (
                f"account {engine.account_id}: trading paused while the lock on the account was lost "
                "(database restart or connection failure); reconciling with the broker before trading again"
            )
            await engine.store.outbox.enqueue(
                NotificationKind.ALERT, dict(alert("Account lease lost and regained", text))
            )
        while True:  # the reconcile itself may meet the database or broker still recovering
            try:
                await engine.reconcile()
                break
            except Exception as exc:
                log.warning("account %s: reconcile after the lease came back failed (%s)", engine.account_id, exc)
                await asyncio.sleep(lease.poll_s)
