"""The intent's write overlaps the order's send (trading/engine/core.py `Engine.place`): the engine dies
after the broker took the order and before the intent's commit, and a restarted engine proposes the same
customTag again. Exactly one order at the broker, the store's row carries its id, nothing sent twice.

The death is made exact with the real database: another transaction holds an uncommitted row with the
same tag, so the engine's INSERT waits on the unique index while its send goes out; once the simulator
has the order, the engine's waiting backend is terminated (its statement never commits, as under
kill -9), the engine is dropped with everything it held in memory, and the blocker rolls back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest

from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading import native
from trading.domain import OrderRequest, OrderStatus, OrderType, Side
from trading.store import Store
from trading.store.executor import Pool

TAG = "manual:overlap:1"


async def _blocked_insert_pid(conn: asyncpg.Connection) -> int | None:
    """The backend whose INSERT into orders waits on a lock (the engine's intent write)."""
    pid: int | None = await conn.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO orders%'"
    )
    return pid


@pytest.mark.parametrize("path", ["rust", "python"])
async def test_death_between_send_and_intent_commit_places_once(store: Store, pool: Pool, path: str) -> None:
    if path == "rust" and not native.loaded():
        pytest.skip("the Rust extension is not built")
    async with sim_day(DAY.rth_open + timedelta(minutes=5)) as day:
        cid = day.cid("MNQ")
        async with engine_on(day, store, prefer_rust=path == "rust") as (engine, _counter):
            assert engine.path.path == path
            request = OrderRequest(
                engine.account_id, cid, Side.BUY, OrderType.LIMIT, 1, TAG, limit_price=Decimal("15000")
            )
            async with pool.acquire() as blocker:
                tx = blocker.transaction()
                await tx.start()
                await blocker.execute(
                    "INSERT INTO orders (custom_tag, account_id, contract_id, side, type, size, status, "
                    "created_at, updated_at) VALUES ($1, $2, $3, 'buy', 'limit', 1, 'intent', now(), now())",
                    TAG,
                    engine.account_id,
                    cid,
                )
                placing = asyncio.create_task(engine.place(request, None))
                await eventually(lambda: TAG in day.tagged(), "the broker has the order")
                async with pool.acquire() as admin:

                    async def dead() -> bool:
                        """The intent's INSERT terminated while it waits on the tag (or its own statement
                        timeout ended it first: never committed either way)."""
                        if placing.done():
                            return True
                        pid = await _blocked_insert_pid(admin)
                        return pid is not None and bool(await admin.fetchval("SELECT pg_terminate_backend($1)", pid))

                    await eventually(dead, "the intent's INSERT ended without a commit")
                with pytest.raises(Exception):  # noqa: B017 - whatever the dead connection raises
                    await placing
                await tx.rollback()
            engine._unrecorded.clear()  # the process is gone: nothing it held in memory survives
            assert await store.orders.by_tag(TAG) is None  # the broker has it, the store does not
            [broker_id] = day.tagged()[TAG]

        async with engine_on(day, store, prefer_rust=path == "rust") as (engine, _counter):
            # the restart's reconcile wrote the broker's order; the same tag proposed again sends nothing
            assert await engine.place(request, None) == broker_id
            assert day.tagged()[TAG] == [broker_id]
            row = await store.orders.by_tag(TAG)
            assert row is not None and row.id == broker_id and row.status is OrderStatus.OPEN
