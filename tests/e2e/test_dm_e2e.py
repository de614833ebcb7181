"""Risk alerts reach a person (issue 11), through the real bot and discord.py against the fake Discord:
an unprotected position, the guard's stop and the kill switch it trips are posted in the alerts channel
and sent to each owner by direct message, once; `/risk status` shows what the guard did; a restart
between the channel post and the direct messages repeats and loses none (the crash points in between:
tests/integration/bot/test_notifier_dm.py); an owner whose DMs are closed costs one notice in the
channel and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.app import TradeBot
from tests.support.conditions import eventually
from tests.support.discord_world import ADMIN, ALERTS, TRADER, World
from tests.support.notifier import titles
from trading import notifications
from trading.domain import NotificationKind
from trading.store import Store

OWNERS = (ADMIN, TRADER)
PROTECTED = "Unprotected position: LONG 1 MNQ, protective stop placed"
pytestmark = pytest.mark.protection  # the position guard runs in these worlds


@pytest.fixture
async def world_settings() -> dict[str, Any]:
    return {
        "discord": {"owners": [u.id for u in OWNERS]},
        "risk": {"daily_loss_limit": "10"},  # the guard's stop, hit, trips the kill switch
        "protection": {"grace_s": 0.2, "check_interval_s": 0.1},
    }


async def settled(store: Store) -> bool:
    return await store.outbox.pending_count() == 0


async def test_an_unprotected_position_and_the_trip_it_ends_in_reach_each_owner_once(world: World) -> None:
    bought = await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    assert "Order placed" in bought.text(), bought.text()
    await world.fake.wait_until(lambda: PROTECTED in titles(world.fake.messages(ALERTS.id)))

    status = await world.run(TRADER, "risk status")
    shown = status.text()
    assert "1 of 1 protected by working stops" in shown, shown
    assert "1 stop(s) placed, 0 closed at market, 0 failed" in shown, shown

    await world.desk.price("MNQ", "20950.00")  # through the guard's stop: a loss past the daily limit
    await world.fake.wait_until(lambda: "Kill switch" in titles(world.fake.messages(ALERTS.id)))
    await eventually(lambda: settled(world.store), "every notification and its direct messages delivered")
    risk_titles = [t for t in titles(world.fake.messages(ALERTS.id)) if t in (PROTECTED, "Kill switch")]
    assert risk_titles == [PROTECTED, "Kill switch"]
    for owner in OWNERS:
        dms = titles(world.fake.dms(owner.id))
        assert dms.count(PROTECTED) == 1 and dms.count("Kill switch") == 1, (owner, dms)
        assert all(t in titles(world.fake.messages(ALERTS.id)) for t in dms)  # nothing the channel did not get
    # Another pass finds nothing left to send: no message goes twice.
    before = {o.id: len(world.fake.dms(o.id)) for o in OWNERS}
    await world.bot.notifier.deliver_once()
    assert {o.id: len(world.fake.dms(o.id)) for o in OWNERS} == before


async def test_a_restart_between_the_channel_post_and_the_direct_messages_repeats_and_loses_nothing(
    world: World,
) -> None:
    await world.bot.notifier.stop()
    trip = notifications.risk("Kill switch", "daily loss limit reached")
    await world.store.outbox.enqueue(NotificationKind.RISK, dict(trip))
    await world.bot.notifier.deliver_once()  # one pass: the channel post (and the owners' copies queued)
    assert titles(world.fake.messages(ALERTS.id)) == ["Kill switch"]
    assert all(world.fake.dms(o.id) == [] for o in OWNERS)
    await world.bot.close()  # the process ends here; the next one starts on the same database
    again = TradeBot(world.settings, world.desk.services, world.store, clock=world.desk.clock, guild_ready_timeout=0.05)
    await again.login(world.fake.token)
    task = asyncio.create_task(again.connect(reconnect=True))
    try:
        await eventually(lambda: settled(world.store), "the owners' copies delivered by the next process")
        assert titles(world.fake.messages(ALERTS.id)) == ["Kill switch"]
        for owner in OWNERS:
            assert titles(world.fake.dms(owner.id)) == ["Kill switch"]
    finally:
        await again.close()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_owner_with_closed_dms_is_told_once_in_the_channel(world: World) -> None:
    world.fake.close_dms(TRADER.id)
    for reason in ("CPI at 08:30", "FOMC at 14:00"):
        asked = await world.run(ADMIN, "risk halt", {"reason": reason})
        done = await world.click(ADMIN, asked, "Confirm")
        await done.wait(2)
        resumed = await world.run(ADMIN, "risk resume")
        assert "none" in resumed.text()
    await eventually(lambda: settled(world.store), "every notification delivered or refused")
    channel = titles(world.fake.messages(ALERTS.id))
    assert channel.count("Trading halted") == 2 and channel.count("Trading resumed") == 2
    assert channel.count("Owner not reachable by direct message") == 1
    assert world.fake.dms(TRADER.id) == []
    assert titles(world.fake.dms(ADMIN.id)) == [t for t in channel if t != "Owner not reachable by direct message"]
