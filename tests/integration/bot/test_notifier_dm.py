"""Risk alerts reach a person: the notifier posts a routed message to its channel and, by direct
message through discord.py, to each owner, each destination once across crashes and restarts; an owner
whose DMs are closed costs one notice in the channel and holds nothing up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import discord
import pytest

from bot.notifier import ConsoleSink, DirectRoute, DiscordSink, EchoSink, Notifier, Sink
from bot.render import Card
from tests.fakes.discord_payloads import FakeChannel, FakeGuild
from tests.fakes.discord_server import FakeDiscord
from tests.support.notifier import drain, logged_in, titles
from trading import notifications
from trading.clock import SimClock
from trading.config import DiscordChannels, NotificationSettings
from trading.domain import NotificationKind
from trading.store import Store
from trading.store.outbox import DEFAULT_LEASE

ORDERS, ALERTS = FakeChannel(702, "orders"), FakeChannel(703, "alerts")
GUILD = FakeGuild(700, "desk", [ORDERS, ALERTS])
CHANNELS = DiscordChannels(orders=ORDERS.id, alerts=ALERTS.id)
OWNER_A, OWNER_B = 7101, 7102
ROUTE = DirectRoute(owners=(OWNER_A, OWNER_B), kinds=frozenset({"risk"}), urgent=True)
FAST = NotificationSettings(retry_base_s=0.01, retry_max_s=1.0, poll_interval_s=0.01, coalesce_window_s=600)
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TRIP = notifications.risk("Kill switch", "daily loss limit reached: -1000.00")


@pytest.fixture
async def discord_client() -> AsyncIterator[tuple[FakeDiscord, discord.Client]]:
    async with logged_in(GUILD) as fake_and_client:
        yield fake_and_client


def routed(store: Store, client: discord.Client, clock: SimClock, sink: Sink | None = None) -> Notifier:
    """The notifier as the bot builds it: Discord, and the owners' direct messages."""
    return Notifier(store.outbox, sink or DiscordSink(client, CHANNELS), FAST, clock, route=ROUTE)


class Crash(BaseException):
    """The process dies here (kill -9): nothing after this point runs, nothing is marked."""


class CrashingSink:
    """The real sink, until its `at`-th delivery: the process dies just before or just after that post."""

    def __init__(self, sink: Sink, at: int, after_post: bool) -> None:
        self.sink, self.at, self.after_post = sink, at, after_post
        self.calls = 0

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        self.calls += 1
        if self.calls == self.at and not self.after_post:
            raise Crash
        await self.sink.deliver(channel, card, nonce)
        if self.calls == self.at:
            raise Crash


async def test_a_risk_trip_goes_to_its_channel_and_to_each_owner_once(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    notifier = routed(store, client, clock)
    await store.outbox.enqueue(NotificationKind.RISK, dict(TRIP), at=clock.now())
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "an order"}, at=clock.now())
    await drain(notifier, clock)
    assert titles(fake.messages(ALERTS.id)) == ["Kill switch"]
    assert titles(fake.messages(ORDERS.id)) == ["an order"]
    assert titles(fake.dms(OWNER_A)) == ["Kill switch"] and titles(fake.dms(OWNER_B)) == ["Kill switch"]
    # discord.py opened each owner's DM channel the way Discord expects, once.
    assert fake.requests.count(("POST", "/users/@me/channels")) == 2
    copies = [m for m in await store.outbox.recent(10) if m.parent_id is not None]
    assert sorted(m.channel for m in copies) == [f"dm:{OWNER_A}", f"dm:{OWNER_B}"]
    assert {m.status for m in await store.outbox.recent(10)} == {"sent"}


@pytest.mark.parametrize("after_post", [False, True], ids=["before-post", "after-post"])
@pytest.mark.parametrize("at", [1, 2, 3], ids=["channel", "first-dm", "second-dm"])
async def test_a_crash_at_any_delivery_neither_repeats_nor_loses_one(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client], at: int, after_post: bool
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    dying = routed(store, client, clock, CrashingSink(DiscordSink(client, CHANNELS), at, after_post))
    await store.outbox.enqueue(NotificationKind.RISK, dict(TRIP), at=clock.now())
    with pytest.raises(Crash):
        for _ in range(5):
            await dying.deliver_once()
    # The next process: the dead one's claims run out with their lease, then everything is delivered.
    clock.advance(DEFAULT_LEASE)
    await drain(routed(store, client, clock), clock)
    assert titles(fake.messages(ALERTS.id)) == ["Kill switch"]
    assert titles(fake.dms(OWNER_A)) == ["Kill switch"]
    assert titles(fake.dms(OWNER_B)) == ["Kill switch"]
    assert await store.outbox.pending_count() == 0


async def test_closed_dms_are_told_once_and_hold_nothing_up(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    fake.close_dms(OWNER_B)
    notifier = routed(store, client, clock)
    await store.outbox.enqueue(NotificationKind.RISK, dict(TRIP), at=clock.now())
    await drain(notifier, clock)
    await store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Flattened", "halt")), at=clock.now())
    await drain(notifier, clock)
    assert titles(fake.messages(ALERTS.id)) == ["Kill switch", "Owner not reachable by direct message", "Flattened"]
    notice = fake.messages(ALERTS.id)[1].embeds[0]
    assert str(OWNER_B) in str(notice) and "50007" in str(notice)
    assert titles(fake.dms(OWNER_A)) == ["Kill switch", "Flattened"]
    assert fake.dms(OWNER_B) == []
    refused = await store.outbox.recent(20, status="refused")
    assert [m.channel for m in refused] == [f"dm:{OWNER_B}", f"dm:{OWNER_B}"]  # tried once each, not retried
    assert await store.outbox.pending_count() == 0
    posts = fake.requests.count(("POST", f"/channels/{fake.dms_channel(OWNER_B)}/messages"))
    assert posts == 2


async def test_urgent_alerts_go_by_dm_and_the_others_do_not(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    notifier = routed(store, client, clock)
    urgent = notifications.alert("Dead-man switch", "feed down 60 s: MNQ flattened", urgent=True)
    await store.outbox.enqueue(NotificationKind.ALERT, dict(urgent), at=clock.now())
    await store.outbox.enqueue(NotificationKind.ALERT, dict(notifications.alert("Feed", "stale")), at=clock.now())
    await drain(notifier, clock)
    assert titles(fake.messages(ALERTS.id)) == ["Dead-man switch", "Feed"]
    assert titles(fake.dms(OWNER_A)) == ["Dead-man switch"]


async def test_the_console_prints_each_message_once(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    headless: list[str] = []
    await store.outbox.enqueue(NotificationKind.RISK, dict(TRIP), at=clock.now())
    await drain(Notifier(store.outbox, ConsoleSink(headless.append), FAST, clock), clock)
    assert headless == ["[alerts] Kill switch | daily loss limit reached: -1000.00"]
    # With Discord and the console echo: the DMs are not echoed a second (and third) time.
    echoed: list[str] = []
    sink = EchoSink(DiscordSink(client, CHANNELS), ConsoleSink(echoed.append))
    await store.outbox.enqueue(NotificationKind.RISK, dict(notifications.risk("Flattened", "halt")), at=clock.now())
    await drain(routed(store, client, clock, sink), clock)
    assert echoed == ["[alerts] Flattened | halt"]
    assert titles(fake.dms(OWNER_A)) == ["Flattened"]
