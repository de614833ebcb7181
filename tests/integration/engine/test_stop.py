"""An engine's stop never hangs: a task that swallows its cancellation is logged with its stack and left
behind after `STOP_WAIT_S`, and the account's lease is released all the same (a standby can take over)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.engine import core as engine_module
from trading.engine.lease import account_lease
from trading.store import Store

# this database's only: other test runs on the same server hold their own
ADVISORY_LOCKS_HERE = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


async def _deaf(started: asyncio.Event, released: asyncio.Event) -> None:
    started.set()
    while not released.is_set():
        try:
            await released.wait()
        except asyncio.CancelledError:
            continue  # a bug somewhere: the cancellation is swallowed


async def test_a_task_deaf_to_cancellation_does_not_keep_the_account(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine_module, "STOP_WAIT_S", 0.5)
    started, released = asyncio.Event(), asyncio.Event()
    async with sim_day(DAY.rth_open) as day:
        async with engine_on(day, store) as (engine, _):
            lease = account_lease(engine)
            assert lease is not None and lease.held
            engine._spawn(_deaf(started, released), "deaf-task")
            await started.wait()
            deaf = next(t for t in engine._tasks if t.get_name() == "deaf-task")
        # engine_on's exit stopped the engine
        assert account_lease(engine) is None and not lease.held
        assert await store.db.fetchval(ADVISORY_LOCKS_HERE) == 0
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("the engine's tasks did not end" in m and "deaf-task" in m and "_deaf" in m for m in said)
    assert not deaf.done()
    released.set()  # the test's own clean-up
    await deaf
