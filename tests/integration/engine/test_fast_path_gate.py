"""The fast path's gate (trading/engine/fast_path.py) against the simulator over real HTTP and SignalR and
Postgres: while an operator has the strategy stopped, or while another instance holds the account's
lease, a crossing quote moves nothing without Python; once the strategy is started again, or the lease is
held again, the next handler call arms it and a crossing quote moves the stop without Python, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.engine.test_fast_path import NAME, counting_modifies, filled_long, one_modified
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY
from trading import native
from trading.demo.day import barrier
from trading.engine import Engine
from trading.engine.lease import account_lease
from trading.services import EngineControl
from trading.store import Store
from trading.store.executor import Pool

pytestmark = pytest.mark.skipif(not native.loaded(), reason="the Rust extension is not built")


async def test_an_operator_stop_closes_the_gate_and_a_start_arms_it_again(store: Store) -> None:
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        assert fast is not None
        cid = engine.contracts["MNQ"].id
        control = EngineControl(engine)
        assert fast.table.is_open and fast.table.triggers(cid) == [(True, float(entry + 15))]
        before = stop.stop_price
        await control.stop(NAME, "boss")
        assert not fast.table.is_open and fast.table.triggers(cid) == []
        with counting_modifies(day.sim.exchange) as modifies:
            # stopped: the crossing quote reaches the Rust stream (its hook runs before the engine's
            # handler has it) and the engine; nothing moves, with or without Python
            at = DAY.rth_open + timedelta(minutes=3)
            await day.trade("MNQ", entry + 16, at)
            await barrier(engine, counter, at)
            assert modifies == [] and fast.table.fired == 0 and fast.moves == 0 and stop.stop_price == before

            await control.start(NAME, "boss")  # armed again at once, from the strategy's state
            assert fast.table.is_open and fast.table.triggers(cid) == [(True, float(entry + 15))]
            at += timedelta(seconds=10)
            async with engine._lock:  # no Python handler can run the strategy meanwhile
                await day.trade("MNQ", entry + 16, at)
                await eventually(lambda: stop.stop_price == entry, "the stop moved without Python")
                assert modifies == [stop.id] and fast.table.fired == 1
            await eventually(lambda: fast.moves == 1, "the fast path's result recorded")
            await barrier(engine, counter, at)
            assert modifies == [stop.id]
        await eventually(lambda: one_modified(store), "the modified notice stored once")


@asynccontextmanager
async def another_instance_holds(pool: Pool, engine: Engine) -> AsyncIterator[None]:
    """Another instance of the account takes its lock from the engine (whose lock session the server
    ends, as a database restart does; as tests/integration/engine/test_lease.py) and holds it inside;
    lets go on the way out."""
    lease = account_lease(engine)
    assert lease is not None and lease.held
    async with pool.acquire() as other:
        queued = asyncio.create_task(other.fetchval("SELECT pg_advisory_lock($1)", lease.key))
        await eventually(lambda: _queued(pool), "the other instance queued for the account")
        await pool.fetchval("SELECT pg_terminate_backend($1)", lease.backend_pid)
        await queued
        await eventually(lambda: not lease.held and not engine.ready, "the engine lost the account")
        await eventually(lambda: engine._lock.locked(), "the engine waiting for its account")
        try:
            yield
        finally:
            await other.execute("SELECT pg_advisory_unlock($1)", lease.key)


async def test_a_lost_lease_closes_the_gate_and_a_crossing_quote_waits_for_python(store: Store, pool: Pool) -> None:
    """Another instance holds the account: the crossing quote is not acted on without Python (the gate
    closed at the loss); once the account is back, the Python handler moves the stop, once."""
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        lease = account_lease(engine)
        assert fast is not None and lease is not None and lease.held and fast.table.is_open
        stream = fast._stream()
        assert stream is not None
        with counting_modifies(day.sim.exchange) as modifies:
            async with another_instance_holds(pool, engine):
                assert not fast.table.is_open
                at = DAY.rth_open + timedelta(minutes=3)
                await day.trade("MNQ", entry + 16, at)
                frames = stream.frames
                await day.trade("MES", str(day.sim.exchange.books[day.cid("MES")].last), at)
                # a later frame read: the crossing quote went past the Rust hook (one decoding task)
                await eventually(lambda: stream.frames > frames, "a later frame read")
                assert modifies == [] and not fast.table.is_open and fast.table.fired == 0
            await eventually(lambda: lease.held and engine.ready, "the account held again")
            await barrier(engine, counter, at)
            await eventually(lambda: stop.stop_price == entry, "the stop moved the Python way")
            assert modifies == [stop.id] and fast.table.fired == 0 and fast.moves == 0
        await eventually(lambda: one_modified(store), "the modified notice stored once")


async def test_the_gate_opens_again_once_the_lease_is_held_again(store: Store, pool: Pool) -> None:
    async with filled_long(store) as f:
        day, engine, counter, entry, stop = f.day, f.engine, f.counter, f.entry, f.stop
        fast = engine.fast_path
        lease = account_lease(engine)
        assert fast is not None and lease is not None and lease.held
        reconciled = engine.reconciles
        async with another_instance_holds(pool, engine):
            assert not fast.table.is_open
        await eventually(lambda: lease.held and engine.ready and engine.reconciles > reconciled, "held again")
        at = DAY.rth_open + timedelta(minutes=3)
        await day.trade("MNQ", entry + Decimal("14.75"), at)  # a handler call: armed again
        await barrier(engine, counter, at)
        assert fast.table.is_open
        with counting_modifies(day.sim.exchange) as modifies:
            at += timedelta(seconds=10)
            async with engine._lock:
                await day.trade("MNQ", entry + 16, at)
                await eventually(lambda: stop.stop_price == entry, "the stop moved without Python")
                assert modifies == [stop.id] and fast.table.fired == 1
            await barrier(engine, counter, at)
            assert modifies == [stop.id]
        await eventually(lambda: one_modified(store), "the modified notice stored once")


async def _queued(pool: Pool) -> bool:
    n = await pool.fetchval(
        """
        SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """
    )
    return int(n) == 1
