"""The dead-man switch (trading/engine/deadman.py): the real engine on the simulator over HTTP and SignalR,
real Postgres. The simulator's hubs refuse connections and its REST answers 503 until cleared: nothing is
closed before `deadman_after_s`, the flatten is tried again while REST is away and goes through when it
answers (hubs still down), with one alert; the market feed alone down is enough; a brief drop is not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.engine.test_protection import AT, PATHS, bought
from tests.support.conditions import eventually
from tests.support.engine_harness import SimDay, engine_on, sim_day
from trading.config import EngineSettings, ProjectXSettings, ProtectionSettings, Settings
from trading.domain import NotificationKind
from trading.engine import Engine
from trading.engine.deadman import MARKET_HUB, REST, USER_HUB
from trading.store import Store

# The guard's marker: its environment switch is lifted so that these settings hold (the guard stays off).
pytestmark = pytest.mark.protection
AFTER_S = 3.0


def switched(after: float = AFTER_S) -> Settings:
    return Settings(
        engine=EngineSettings(heal_interval_s=0.05, reconcile_interval_s=0.3, flat_check_interval_s=0.3),
        protection=ProtectionSettings(enabled=False, check_interval_s=0.1, deadman_after_s=after),
        projectx=ProjectXSettings(retry_delays_s=(0.05, 0.1)),
    )


def held(day: SimDay, engine: Engine, cid: str) -> int:
    """The position's size at the broker (0: flat)."""
    pos = day.sim.exchange.positions.get((engine.account_id, cid))
    return 0 if pos is None else abs(pos.net)


async def deadman_alerts(store: Store, n: int = 1) -> list[dict[str, Any]]:
    async def said() -> list[dict[str, Any]]:
        return [
            dict(m.payload)
            for m in await store.outbox.recent(200)
            if m.kind is NotificationKind.RISK and str(m.payload.get("title", "")).startswith("Dead-man switch")
        ]

    async def some() -> bool:
        return len(await said()) >= n

    await eventually(some, f"{n} dead-man alert(s)")
    return await said()


@PATHS
async def test_hubs_and_rest_down_flattens_once_rest_answers_after_the_time(store: Store, prefer_rust: bool) -> None:
    async with sim_day(AT) as day, engine_on(day, store, switched(), prefer_rust=prefer_rust) as (engine, _):
        cid = await bought(engine, day, 2, "tb-deadman-1")
        dm = engine.deadman
        day.sim.faults.refuse_hubs()
        day.sim.faults.down()
        await eventually(lambda: dm.stats.outages == 1, "the outage seen")
        await eventually(lambda: dm.stats.failures >= 2, "the flatten tried again while REST is down")
        assert dm.stats.fired_after_s is not None and dm.stats.fired_after_s >= AFTER_S, "fired before the time"
        assert held(day, engine, cid) == 2, "nothing reached the broker while REST was down"
        assert dm.stats.flattens == 0

        day.sim.faults.up()  # REST back, the hubs still refusing
        await eventually(lambda: held(day, engine, cid) == 0, "the position flattened at the broker")
        [note] = await deadman_alerts(store)
        assert cid in note["closed"]
        down = " ".join(note["down"])
        assert USER_HUB in down and MARKET_HUB in down and REST in down
        assert note["seconds_down"] >= AFTER_S
        await eventually(lambda: dm.stats.flattens == 1, "the flatten counted")
        assert dm.stats.recovered == 0, "the hubs are still down: the outage goes on"
        assert len(await deadman_alerts(store)) == 1


async def test_the_market_feed_alone_down_flattens_after_the_time(store: Store) -> None:
    async with sim_day(AT) as day, engine_on(day, store, switched()) as (engine, _):
        cid = await bought(engine, day, 1, "tb-deadman-2")
        dm = engine.deadman
        day.sim.faults.refuse_hubs("market")
        await eventually(lambda: held(day, engine, cid) == 0, "the position flattened at the broker")
        assert dm.stats.fired_after_s is not None and dm.stats.fired_after_s >= AFTER_S, "fired before the time"
        [note] = await deadman_alerts(store)
        assert note["down"] and all(d.startswith(MARKET_HUB) for d in note["down"])
        assert cid in note["closed"]
        assert dm.stats.failures == 0


async def test_a_drop_shorter_than_the_time_closes_nothing(store: Store) -> None:
    async with sim_day(AT) as day, engine_on(day, store, switched(after=60.0)) as (engine, _):
        cid = await bought(engine, day, 1, "tb-deadman-3")
        dm = engine.deadman
        day.sim.faults.refuse_hubs()
        await eventually(lambda: dm.stats.outages == 1, "the outage seen")
        day.sim.faults.refuse_hubs(on=False)
        await eventually(lambda: dm.stats.recovered == 1, "the hubs back")
        assert dm.stats.longest_s < 60.0
        assert dm.stats.attempts == 0
        assert held(day, engine, cid) == 1
        assert cid in engine.positions
