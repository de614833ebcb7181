"""One active instance per account, held as a Postgres advisory lock on a dedicated connection: a second
holder waits; the holder that loses its lock connection (what a database restart does to it) stops
trading at once and, once it holds the account again, reconciles before it trades."""

from __future__ import annotations

import asyncio
import time as walltime
from collections.abc import Awaitable, Callable

import pytest

from tests.fakes.pg_cluster import PgCluster
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.domain import OrderRequest, OrderType, Side
from trading.engine.lease import AccountNotHeld, account_lease
from trading.store import Store, close_pool, create_pool, migrate
from trading.store.executor import Pool
from trading.store.lease import AccountLease

WAIT_S = 30.0


async def until(what: str, check: Callable[[], Awaitable[bool] | bool]) -> None:
    deadline = walltime.monotonic() + WAIT_S
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert walltime.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_second_holder_waits_until_the_first_lets_go(pool: Pool) -> None:
    first, second = AccountLease(pool, 4242, poll_s=0.02), AccountLease(pool, 4242, poll_s=0.02)
    other_account = AccountLease(pool, 4243)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await other_account.try_acquire()  # a lock per account
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0)
    assert not waiting.done() and not second.held
    await first.release()
    await asyncio.wait_for(waiting, WAIT_S)
    assert second.held and not first.held
    await second.release()
    await other_account.release()


async def test_a_lost_lease_stops_trading_until_it_is_held_again_and_reconciled(store: Store, pool: Pool) -> None:
    async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _):
        assert engine.ready
        lease = account_lease(engine)
        assert lease is not None and lease.held and lease.backend_pid is not None
        reconciled = engine.reconciles
        request = OrderRequest(engine.account_id, day.cid("MES"), Side.BUY, OrderType.MARKET, 1, "t:lease")
        assert engine.check_risk(request)
        async with pool.acquire() as other:  # another instance of the account, queued for its lock
            queued = asyncio.create_task(other.fetchval("SELECT pg_advisory_lock($1)", lease.key))

            async def in_queue() -> bool:
                n = await pool.fetchval(
                    """
                    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """
                )  # this database's only: another test run on the same server queues for its own
                return int(n) == 1

            await until("the other instance to queue for the account", in_queue)
            # the server ends the engine's lock session, as a database restart does: the other one has it now
            await pool.fetchval("SELECT pg_terminate_backend($1)", lease.backend_pid)
            await asyncio.wait_for(queued, WAIT_S)
            await until("the engine to stop trading", lambda: not engine.ready and not lease.held)
            decision = engine.check_risk(request)
            assert not decision and "reconciled" in decision.reason
            with pytest.raises(AccountNotHeld):  # an order already past its risk check is not sent either
                await engine.path.place(request)
            assert "t:lease" not in day.tagged()
            # a standby now, holding its own lock: no event handled, nothing placed or reconciled meanwhile
            await until("the engine to wait for its account", lambda: engine._lock.locked())
            assert not engine.ready and not lease.held
            await other.execute("SELECT pg_advisory_unlock($1)", lease.key)
        await until("the engine to hold its account again", lambda: lease.held)
        await until("a reconcile before trading again", lambda: engine.ready and engine.reconciles > reconciled)
        assert engine.check_risk(request)


async def test_a_database_restart_stops_trading_until_the_lease_is_back_then_reconciles() -> None:
    cluster = PgCluster()  # the test's own server, so that it can really go away
    cluster.start()
    pool = await create_pool(cluster.url, min_size=1, max_size=4)
    try:
        await migrate(pool)
        store = Store(pool)
        async with sim_day(DAY.rth_open) as day, engine_on(day, store) as (engine, _):
            lease = account_lease(engine)
            assert lease is not None and lease.held and engine.ready
            reconciled = engine.reconciles
            request = OrderRequest(engine.account_id, day.cid("MES"), Side.BUY, OrderType.MARKET, 1, "t:restart")
            cluster.stop()
            await until("the engine to stop trading", lambda: not engine.ready and not lease.held)
            assert not engine.check_risk(request)
            with pytest.raises(AccountNotHeld):
                await engine.path.place(request)
            cluster.start()
            await until("the lease back and a reconcile", lambda: lease.held and engine.reconciles > reconciled)
            await until("the engine trading again", lambda: engine.ready)
            assert "t:restart" not in day.tagged()
    finally:
        await close_pool(pool)
        cluster.destroy()
