"""kill -9 of `tradebot run --paper` after the broker took a new order and before its intent was committed
(trading/engine/core.py `_place_new`: the intent's statement and the order's request overlap), then a
restart: the order is stored once by its customTag, nothing is placed twice, the open job ends once.

The test holds a SHARE lock on the orders' history table, so the intent's one statement (which writes
its first history row) cannot commit; the simulator in this test process kills the engine from inside
the first place request, once the order exists and before the answer leaves. The blocked statement's
backend is then terminated (as a machine losing power would lose it) and the lock released: the store
has no row for that tag, the broker has the order.
"""

from __future__ import annotations

import signal
import subprocess
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path

from tests.integration.engine.test_restart import TAGS, entries_working, start_engine, stop, wait_for
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, sim_day
from tests.support.exchange_taps import tapped
from trading.sim.exchange import Exchange
from trading.store import Store


def places(exchange: Exchange, kill: subprocess.Popen[bytes] | None = None) -> ContextManager[list[str | None]]:
    """The customTag of every place request the exchange takes (a duplicate is listed too: the exchange
    refuses it without creating an order); the first one kills `kill` once the order exists."""
    return tapped(exchange, "place", lambda req: req.customTag, kill)


async def test_kill_9_between_the_send_and_the_intents_commit(store: Store, database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    async with sim_day(DAY.rth_open) as day:
        await day.preload(store)
        async with store.db.acquire() as holder:
            lock = holder.transaction()
            await lock.start()
            await holder.execute("LOCK TABLE order_status_history IN SHARE MODE")
            first = start_engine(day, database_url, DAY.rth_open, 1.0, log)
            try:
                with places(day.sim.exchange, kill=first) as sent:
                    await eventually(lambda: first.poll() is not None, "the engine killed inside its first place", 90)
                assert first.returncode == -signal.SIGKILL, log.read_text()[-3000:]
                killed_tag = sent[0]
                assert killed_tag in TAGS and list(day.tagged()) == [killed_tag]
                await holder.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            finally:
                if first.poll() is None:
                    first.kill()
                    first.wait()
                await lock.rollback()
        rows = await store.db.fetch("SELECT custom_tag FROM orders")
        assert rows == []  # the broker has the order; its intent never committed

        async def entries_placed() -> bool:
            done = await store.db.fetchval("SELECT outcome FROM job_runs WHERE job = 'open'") is not None
            return done and await entries_working(store)

        with places(day.sim.exchange) as resent:
            second = start_engine(day, database_url, DAY.rth_open, 1.0, log)
            try:
                await wait_for("the four entries stored and working, the open job ended", entries_placed, second, log)
            finally:
                await stop(second)

        tagged = day.tagged()
        assert {tag: len(ids) for tag, ids in tagged.items()} == dict.fromkeys(TAGS, 1)
        assert killed_tag not in resent and sorted(t for t in resent if t is not None) == sorted(
            set(TAGS) - {killed_tag}
        )
        stored = await store.db.fetch(
            "SELECT custom_tag, broker_order_id FROM orders WHERE custom_tag = ANY($1::text[])", TAGS
        )
        assert {r["custom_tag"]: r["broker_order_id"] for r in stored} == {t: ids[0] for t, ids in tagged.items()}
        runs = await store.db.fetch("SELECT job, outcome FROM job_runs WHERE job = 'open'")
        assert [(r["job"], r["outcome"]) for r in runs] == [("open", "ok")]
