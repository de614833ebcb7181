"""The notifier delivers the Postgres outbox to the fake Discord: by kind, in order, once, never giving up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.notifier import ConsoleSink, DiscordSink, EchoSink, Notifier
from tests.fakes.discord_payloads import FakeChannel, FakeGuild
from tests.fakes.discord_server import FakeDiscord
from tests.support.conditions import eventually
from tests.support.notifier import drain, logged_in
from trading.clock import SimClock
from trading.config import DiscordChannels, NotificationSettings
from trading.domain import NotificationKind
from trading.store import Store, close_pool, create_pool

FILLS, ORDERS, ALERTS = FakeChannel(501, "fills"), FakeChannel(502, "orders"), FakeChannel(503, "alerts")
GUILD = FakeGuild(500, "desk", [FILLS, ORDERS, ALERTS])
CHANNELS = DiscordChannels(fills=FILLS.id, orders=ORDERS.id, alerts=ALERTS.id)
OLD_MAX_ATTEMPTS = 4  # older versions gave a message up after this many failed attempts
FAST = NotificationSettings(
    retry_base_s=0.01, retry_max_s=1.0, poll_interval_s=0.01, coalesce_window_s=600, alert_after_s=120
)
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
async def discord_client() -> AsyncIterator[tuple[FakeDiscord, discord.Client]]:
    async with logged_in(GUILD) as fake_and_client:
        yield fake_and_client


def titles(fake: FakeDiscord, channel: FakeChannel) -> list[str]:
    return [m.embeds[0]["title"] for m in fake.messages(channel.id)]


async def test_delivers_by_kind_in_order_and_marks_sent(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "order one"})
    await store.outbox.enqueue(
        NotificationKind.ENTRY_FILL, {"side": "buy", "size": 1, "symbol": "MNQ", "price": "21000.25"}
    )
    await store.outbox.enqueue(NotificationKind.STRATEGY, {"title": "range card"})  # no strategy channel: alerts
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "order two"})
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST)
    await drain(notifier)
    assert titles(fake, ORDERS) == ["order one", "order two"]
    assert titles(fake, FILLS) == ["Entry fill: BUY 1 MNQ @ 21000.25"]
    assert titles(fake, ALERTS) == ["range card"]
    assert await store.outbox.pending_count() == 0
    assert {m.status for m in await store.outbox.recent(10)} == {"sent"}


async def test_backlog_after_outage_in_order_once(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock)
    fake.set_down(True)
    for i in range(6):
        await store.outbox.enqueue(NotificationKind.ORDER, {"title": f"order {i}"}, at=clock.now())
    await notifier.deliver_once()
    assert fake.messages(ORDERS.id) == []
    assert await store.outbox.pending_count() == 6
    fake.lose_answers(1)  # the first post after the outage lands but its answer is lost
    fake.set_down(False)
    await drain(notifier, clock)
    assert titles(fake, ORDERS) == [f"order {i}" for i in range(6)]
    assert await store.outbox.pending_count() == 0


async def test_short_rate_limit_is_waited_out_by_discord_py(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST)
    fake.rate_limit(2, retry_after=0.02)
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "after 429"})
    await notifier.deliver_once()
    assert titles(fake, ORDERS) == ["after 429"]
    assert fake.requests.count(("POST", f"/channels/{ORDERS.id}/messages")) == 3


async def test_long_rate_limit_is_rescheduled_at_retry_after(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock)
    fake.rate_limit(1, retry_after=90.0)  # beyond discord.py's max_ratelimit_timeout (30 s): raised to us
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "after 429"}, at=clock.now())
    await notifier.deliver_once()
    assert titles(fake, ORDERS) == [] and "RateLimited" in notifier.last_error
    clock.advance(timedelta(seconds=60))
    await notifier.deliver_once()  # not due yet: retry_after, not the 10 ms base backoff
    assert titles(fake, ORDERS) == []
    clock.advance(timedelta(seconds=31))
    await notifier.deliver_once()
    assert titles(fake, ORDERS) == ["after 429"]


async def test_repeated_alerts_are_coalesced(store: Store, discord_client: tuple[FakeDiscord, discord.Client]) -> None:
    fake, client = discord_client
    clock = SimClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock)
    await store.outbox.enqueue(NotificationKind.ALERT, {"title": "feed stale"}, at=clock.now())
    await notifier.deliver_once()
    for i in range(12):
        at = clock.now() + timedelta(seconds=30 * (i + 1))
        await store.outbox.enqueue(NotificationKind.ALERT, {"title": "feed stale"}, at=at)
    clock.advance(timedelta(minutes=7))
    await notifier.deliver_once()  # inside the window: held
    assert titles(fake, ALERTS) == ["feed stale"]
    # Held on purpose is not failing: another alert goes past the held repeats.
    await store.outbox.enqueue(NotificationKind.ALERT, {"title": "breaker"}, at=clock.now())
    await notifier.deliver_once()
    assert titles(fake, ALERTS) == ["feed stale", "breaker"]
    clock.advance(timedelta(minutes=4))
    await notifier.deliver_once()
    assert titles(fake, ALERTS) == ["feed stale", "breaker", "feed stale ×12 in 6 min"]
    assert await store.outbox.pending_count() == 0


async def test_outage_longer_than_the_old_max_attempts_ends_with_everything_once_in_order(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock)
    fake.set_down(True)
    for i in range(3):
        await store.outbox.enqueue(NotificationKind.ORDER, {"title": f"order {i}"}, at=clock.now())
    await store.outbox.enqueue(NotificationKind.ENTRY_FILL, {"title": "fill 0"}, at=clock.now())
    for _ in range(3 * OLD_MAX_ATTEMPTS):  # each round one more failed attempt per channel
        clock.advance(timedelta(seconds=FAST.retry_max_s))
        await notifier.deliver_once()
    head = (await store.outbox.recent(10, status="pending"))[-1]
    assert head.payload == {"title": "order 0"} and head.attempts > OLD_MAX_ATTEMPTS
    assert await store.outbox.pending_count() == 4 and await store.outbox.recent(10, status="failed") == []
    # A message queued while the head waits for its retry is not sent past it, even with Discord back.
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "order 3"}, at=clock.now())
    fake.set_down(False)
    await notifier.deliver_once()
    assert titles(fake, ORDERS) == []
    fake.lose_answers(1)  # the first post after the outage lands but its answer is lost
    await drain(notifier, clock)
    assert titles(fake, ORDERS) == [f"order {i}" for i in range(4)]
    assert titles(fake, FILLS) == ["fill 0"]
    assert titles(fake, ALERTS) == []  # shorter than alert_after_s: no outage report
    assert await store.outbox.pending_count() == 0


async def test_a_row_an_older_version_marked_failed_is_delivered(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    given_up = await store.outbox.enqueue(NotificationKind.ORDER, {"title": "given up in 2025"})
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "queued after"})
    await store.db.execute(
        "UPDATE notification_outbox SET status = 'failed', attempts = 8, last_error = 'gave up' WHERE id = $1",
        given_up,
    )
    assert await store.outbox.pending_count() == 2
    await drain(Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST))
    assert titles(fake, ORDERS) == ["given up in 2025", "queued after"]
    assert {m.status for m in await store.outbox.recent(10)} == {"sent"}


async def test_failing_for_minutes_tells_the_console_once_then_reports_the_outage(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    lines: list[str] = []
    notifier = Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock, console=lines.append)
    fake.set_down(True)
    for i in range(3):
        await store.outbox.enqueue(NotificationKind.ORDER, {"title": f"order {i}"}, at=clock.now())
    for _ in range(20):  # ten minutes of a dead Discord
        clock.advance(timedelta(seconds=30))
        await notifier.deliver_once()
    assert notifier.failing_since == T0 + timedelta(seconds=30)
    assert len(lines) == 1 and "not reaching Discord (orders)" in lines[0] and "DiscordServerError" in lines[0]
    fake.set_down(False)
    await drain(notifier, clock)
    assert titles(fake, ORDERS) == ["order 0", "order 1", "order 2"]
    [report] = fake.messages(ALERTS.id)
    assert report.embeds[0]["title"] == "Notifications were delayed"
    text = str(report.embeds[0])
    assert "down for 9 min" in text and "3 messages were held" in text, text
    assert len(lines) == 1 and notifier.failing_since is None


async def test_a_channel_that_refuses_holds_only_its_own_messages(
    store: Store, discord_client: tuple[FakeDiscord, discord.Client]
) -> None:
    fake, client = discord_client
    clock = SimClock(T0)
    broken = DiscordChannels(fills=FILLS.id, orders=999, alerts=ALERTS.id)  # 999: no such channel
    notifier = Notifier(store.outbox, DiscordSink(client, broken), FAST, clock)
    held = await store.outbox.enqueue(NotificationKind.ORDER, {"title": "nowhere"}, at=clock.now())
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "behind it"}, at=clock.now())
    await store.outbox.enqueue(NotificationKind.ENTRY_FILL, {"title": "fill after"}, at=clock.now())
    for _ in range(2 * OLD_MAX_ATTEMPTS):
        clock.advance(timedelta(seconds=FAST.retry_max_s))
        await notifier.deliver_once()
    assert titles(fake, FILLS) == ["fill after"]
    assert held is not None
    waiting = await store.outbox.get(held)
    assert waiting is not None and waiting.status == "pending" and "Unknown Channel" in (waiting.last_error or "")
    assert waiting.attempts > OLD_MAX_ATTEMPTS
    # The operator fixes the channel id: what waited goes out, in order.
    await drain(Notifier(store.outbox, DiscordSink(client, CHANNELS), FAST, clock), clock)
    assert titles(fake, ORDERS) == ["nowhere", "behind it"]


async def test_headless_console(store: Store) -> None:
    lines: list[str] = []
    notifier = Notifier(store.outbox, ConsoleSink(lines.append), FAST)
    await store.outbox.enqueue(NotificationKind.ALERT, {"title": "feed stale", "text": "no ticks for 30 s"})
    await notifier.deliver_once()
    assert lines == ["[alerts] feed stale | no ticks for 30 s"]


async def test_console_echo_after_discord(store: Store, discord_client: tuple[FakeDiscord, discord.Client]) -> None:
    fake, client = discord_client
    lines: list[str] = []
    sink = EchoSink(DiscordSink(client, CHANNELS), ConsoleSink(lines.append))
    notifier = Notifier(store.outbox, sink, FAST)
    await store.outbox.enqueue(NotificationKind.ORDER, {"title": "echoed"})
    await notifier.deliver_once()
    assert titles(fake, ORDERS) == ["echoed"] and lines == ["[orders] echoed"]


async def test_a_closed_database_ends_the_delivery_loop_instead_of_logging_forever(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The process is shutting down: its pool closed under a notifier nobody stopped. The loop ends, said
    once, instead of retrying every poll for ever (a failing claim on an open pool is still retried)."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    notifier = Notifier(Store(pool).outbox, ConsoleSink(lambda _: None), FAST)
    notifier.start()
    await close_pool(pool)
    task = notifier._task
    assert task is not None
    await eventually(task.done, "the loop ended on the closed pool")
    assert "notification delivery stops" in caplog.text
    assert "notification delivery failed" not in caplog.text
    await notifier.stop()
