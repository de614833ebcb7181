"""A stop move sent without Python (trading/engine/fast_path.py) whose store writes meet the database gone
away, on the test's own throw-away Postgres server (tests/fakes/pg_cluster.py), with the simulator over
real HTTP and SignalR: the stop is moved at the broker; the result is taken once; its writes are tried
again until the server is back; then the "modified" notice is stored once and the strategy's state, its
breakeven done, is saved."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from tests.fakes.pg_cluster import PgCluster
from tests.integration.engine.test_fast_path import NAME, counting_modifies, filled_long, modified_notices, one_modified
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY
from trading import native
from trading.demo.day import barrier
from trading.engine.lease import account_lease
from trading.notifications import modified_key
from trading.store import Store

pytestmark = pytest.mark.skipif(not native.loaded(), reason="the Rust extension is not built")

NOT_SAVED = "fast path: a stop move's record waits for the store"


async def breakeven_saved(store: Store) -> bool:
    saved = await store.strategy_state.for_day(NAME, DAY.date)
    buy = saved.get("*", {}).get("symbols", {}).get("MNQ", {}).get("sides", {}).get("buy", {})
    return bool(buy.get("breakeven_done"))


async def test_a_move_recorded_while_the_store_is_away_is_stored_once_when_it_is_back(
    own_cluster_store: tuple[PgCluster, Store], caplog: pytest.LogCaptureFixture
) -> None:
    cluster, store = own_cluster_store
    caplog.set_level(logging.WARNING, logger="trading.engine.fast_path")
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        lease = account_lease(engine)
        assert fast is not None and lease is not None
        assert not await breakeven_saved(store)
        with counting_modifies(day.sim.exchange) as modifies:
            at = DAY.rth_open + timedelta(minutes=3)
            async with engine._lock:  # the result waits for the lock: the server goes first
                await day.trade("MNQ", entry + 16, at)
                await eventually(lambda: stop.stop_price == entry, "the stop moved without Python")
                await asyncio.to_thread(cluster.stop)
            # taken once; its notice and the state's save meet the server gone, and are kept
            await eventually(lambda: NOT_SAVED in caplog.text, "the result's writes failed while the store is away")
            assert fast.moves == 1 and modifies == [stop.id]
            await asyncio.to_thread(cluster.start)
            await eventually(lambda: one_modified(store), "the modified notice stored once the store is back")
            await eventually(lambda: breakeven_saved(store), "the strategy's state saved")
            notices = await modified_notices(store)
            assert [n.dedupe_key for n in notices] == [modified_key(stop.id, entry)]
            await eventually(lambda: lease.held and engine.ready, "the engine holding its account again")
            await barrier(engine, counter, None)
            assert fast.moves == 1 and modifies == [stop.id]  # nothing sent again
        assert len(await modified_notices(store)) == 1
        assert "could not be recorded" not in caplog.text
