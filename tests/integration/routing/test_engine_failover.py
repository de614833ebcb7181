"""The engine's user hub on the Rust stream, killed mid-session while an entry fills: the hub moves
to signalrcore, the engine reconciles on its RECONNECTED and acts on the fill exactly once (nothing
lost, nothing doubled); the trader is alerted why and the change is in the route audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.engine.test_healing import (
    assert_settled_after_fill,
    fast_healing,
    fill_long_entry,
    open_entries,
)
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading import native
from trading.domain import NotificationKind
from trading.projectx.failover import FailoverUserStream
from trading.store import Store

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")


async def test_a_killed_rust_user_stream_falls_back_and_the_fill_in_the_gap_is_acted_on(store: Store) -> None:
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, fast_healing()) as (engine, counter),
    ):
        user = engine.user_stream
        assert isinstance(user, FailoverUserStream) and user.path == "rust"
        await open_entries(day, engine, store, counter)
        user.current._client.stop()  # type: ignore[attr-defined]  # the Rust client ends on its own
        fill_id = await fill_long_entry(day)  # while the hub moves
        await eventually(lambda: user.path == "python" and user.connected, "signalrcore took the user hub over")
        await assert_settled_after_fill(day, engine, store, fill_id)

        async def alerted() -> bool:
            alerts = [m.payload for m in await store.outbox.recent(200) if m.kind is NotificationKind.ALERT]
            return any(a.get("title") == "user_stream moved to Python" for a in alerts)

        await eventually(alerted, "the alert saying why")
        changes = await store.routes.changes()
        assert [(c.component, c.old_route, c.new_route, c.changed_by) for c in changes] == [
            ("user_stream", "rust", "python", "breaker")
        ]
        assert "died" in changes[0].reason
