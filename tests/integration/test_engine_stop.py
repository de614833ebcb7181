"""An engine's stop never hangs: a task that swallows its cancellation is logged with its stack and left
behind after `STOP_WAIT_S`, and the account's lease is released all the same (a standby can take over)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.integration.engine_harness import DAY, engine_on, sim_day
from trading import engine as engine_module
from trading.engine_lease import account_lease
from trading.store import Store


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
        locks = await store.db.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert locks == 0
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("the engine's tasks did not end" in m and "deaf-task" in m and "_deaf" in m for m in said)
    assert not deaf.done()
    released.set()  # the test's own clean-up
    await deaf
