"""Delivers the notification outbox to Discord channels (or the console), and never gives up.

- A message is claimed from Postgres (oldest first, under a lease), rendered by kind, sent to the
  channel of its kind (`[discord.channels]`, unset kinds to `alerts`, else the console), then marked
  sent. Each send carries the nonce `outbox-<id>` with `enforce_nonce`, so Discord itself drops a
  re-send after a lost answer: nothing is posted twice.
- A failed send (Discord down or unreachable, 5xx, a rate limit beyond discord.py's own wait, a
  channel that refuses) is retried for as long as it takes, with capped exponential backoff
  (`retry_base_s` doubling up to `retry_max_s`; Discord's `retry_after` when it gives one). The
  messages of its channel wait behind it (the outbox hands none out past it), so the backlog goes out
  in order once Discord is back; other channels go on. `max_attempts` is accepted but drops nothing.
- When delivery has been failing for `alert_after_s`, one line goes to the log and the console;
  when it recovers, an alert says how long it was down and how many messages were held.
- Alerts repeating within `coalesce_window_s` are held until the window ends and posted once as
  "feed stale ×12 in 10 min".
- Risk alerts reach a person: a message `[discord] dm_kinds` / `dm_urgent` route to the owners is copied
  in the outbox once per owner (`dm:<user id>`) before its channel post, so a crash in between loses no
  direct message and repeats no post; each copy is then delivered like any message (retries, its own
  nonce, its own order). A direct message Discord refuses for good (DMs closed: 403, code 50007) is
  marked refused, not retried, and the alerts channel is told once a day per owner. The console gets
  no copies: it prints each message once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import discord

from bot.notices import notification_card
from bot.render import Card
from trading import notifications
from trading.calendar import to_ny
from trading.clock import Clock, LiveClock
from trading.config import DiscordChannels, DiscordSettings, NotificationSettings
from trading.domain import NotificationKind
from trading.metrics import LatencyMetrics, stage
from trading.store.outbox import OutboxMessage, dm_channel, dm_user

log = logging.getLogger(__name__)

COALESCED_KINDS = frozenset({NotificationKind.ALERT})
MAX_EXPONENT = 30  # 2**30 × any base is past any cap: keeps the maths finite after months of retries


class Outbox(Protocol):
    @property
    def closed(self) -> bool: ...
    async def enqueue(
        self, kind: NotificationKind, payload: dict[str, Any], dedupe_key: str | None = None
    ) -> int | None: ...
    async def claim_batch(self, limit: int = 50, *, now: datetime | None = None) -> list[OutboxMessage]: ...
    async def mark_sent(self, message_id: int, at: datetime | None = None) -> None: ...
    async def mark_retry(self, message_id: int, attempts: int, error: str, retry_at: datetime) -> None: ...
    async def mark_refused(self, message_id: int, error: str, at: datetime | None = None) -> None: ...
    async def fan_out(self, message: OutboxMessage, channels: Sequence[str]) -> list[int]: ...
    async def hold(self, message_ids: Sequence[int], until: datetime) -> None: ...
    async def release(self, message_ids: Sequence[int]) -> None: ...
    async def pending_count(self, channels: Sequence[str] | None = None) -> int: ...


class Sink(Protocol):
    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        """Post `card` to the channel named by its `[discord.channels]` key, or raise."""
        ...


class DiscordUnavailable(Exception):
    """Not logged in to Discord (yet, or again): the message waits in the outbox."""


class DirectMessageRefused(Exception):
    """Discord will never deliver this direct message (the user's DMs are closed to the bot): not retried."""

    def __init__(self, user_id: int, detail: str) -> None:
        self.user_id = user_id
        super().__init__(detail)


# Discord's answers to a direct message that retrying cannot change: 403 (50007, "Cannot send messages to
# this user": DMs closed, or no server in common), 400 (50033, not a user id), 404 (unknown user).
REFUSED_DM_STATUSES = frozenset({400, 403, 404})


@dataclass(frozen=True, slots=True)
class DirectRoute:
    """Which messages the owners also get by direct message (`[discord] owners`, `dm_kinds`, `dm_urgent`)."""

    owners: tuple[int, ...] = ()
    kinds: frozenset[str] = frozenset()
    urgent: bool = False

    @classmethod
    def of(cls, s: DiscordSettings) -> DirectRoute:
        return cls(tuple(dict.fromkeys(s.owners)), frozenset(s.dm_kinds), s.dm_urgent)

    def destinations(self, m: OutboxMessage) -> list[str]:
        """The `dm:<id>` channels `m` is copied to: none for a copy itself, or a message not routed."""
        if not self.owners or m.parent_id is not None or dm_user(m.channel) is not None:
            return []
        if not notifications.direct(m.kind, m.payload, self.kinds, self.urgent):
            return []
        return [dm_channel(u) for u in self.owners]


class ConsoleSink:
    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        self._write(f"[{channel}] {card.text()}")


class DiscordSink:
    """Posts through discord.py's REST client; channels without an id go to alerts, else the console."""

    def __init__(self, client: discord.Client, channels: DiscordChannels, console: ConsoleSink | None = None) -> None:
        self._client = client
        self._channels = channels
        self._console = console or ConsoleSink()

    def retarget(self, channels: DiscordChannels) -> None:
        """New channel ids (a configuration reload): the next delivery goes there."""
        self._channels = channels

    def channel_id(self, key: str) -> int | None:
        cid: int | None = getattr(self._channels, key, None)
        return cid if cid is not None else self._channels.alerts

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        user = dm_user(channel)
        if user is not None:
            await self._direct(user, card, nonce)
            return
        cid = self.channel_id(channel)
        if cid is None:
            await self._console.deliver(channel, card, nonce)
            return
        if self._client.http.token is None or self._client.is_closed():
            raise DiscordUnavailable("not logged in to Discord")
        target = self._client.get_partial_messageable(cid)
        await target.send(embed=card.embed(), files=card.files(), nonce=nonce)

    async def _direct(self, user_id: int, card: Card, nonce: str) -> None:
        """A direct message: discord.py opens (or reuses) the DM channel, then posts to it."""
        if self._client.http.token is None or self._client.is_closed():
            raise DiscordUnavailable("not logged in to Discord")
        try:
            dm = await self._client.create_dm(discord.Object(user_id))
            await dm.send(embed=card.embed(), files=card.files(), nonce=nonce)
        except discord.HTTPException as exc:
            if exc.status in REFUSED_DM_STATUSES:
                raise DirectMessageRefused(user_id, f"{exc.status} (code {exc.code}): {exc.text}") from exc
            raise


class EchoSink:
    """Deliver to `primary`, then echo to the console (`[notifications] console = true`)."""

    def __init__(self, primary: Sink, echo: Sink) -> None:
        self.primary = primary
        self.echo = echo

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        await self.primary.deliver(channel, card, nonce)
        if dm_user(channel) is None:  # the console has printed the channel's copy already
            await self.echo.deliver(channel, card, nonce)


def retry_after_of(exc: BaseException) -> float | None:
    if isinstance(exc, discord.RateLimited):
        return float(exc.retry_after)
    return None


def backoff_s(settings: NotificationSettings, attempts: int) -> float:
    """The wait before attempt `attempts + 1`: `retry_base_s` doubling, capped at `retry_max_s`."""
    return min(settings.retry_base_s * 2.0 ** min(max(attempts - 1, 0), MAX_EXPONENT), settings.retry_max_s)


def coalesce_key(message: OutboxMessage) -> str | None:
    if message.kind not in COALESCED_KINDS:
        return None
    p = message.payload
    return message.channel + "|" + str(p.get("coalesce") or p.get("key") or p.get("title") or p.get("text") or "")


def for_humans(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


_POSTED = stage("posted")


class Notifier:
    def __init__(
        self,
        outbox: Outbox,
        sink: Sink,
        settings: NotificationSettings,
        clock: Clock | None = None,
        *,
        batch: int = 50,
        console: Callable[[str], None] = print,
        route: DirectRoute | None = None,
        metrics: LatencyMetrics | None = None,
    ) -> None:
        self.outbox = outbox
        self.metrics = metrics  # the posted stage: stored -> posted, per message
        self.route = route or DirectRoute()
        self.sink = sink
        self.settings = settings
        self.clock = clock or LiveClock()
        self.batch = batch
        self.console = console
        self._last_posted: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failures = 0
        self.last_error = ""
        # The current outage: channel key -> when its head message first failed; when it began; whether
        # the operator was told; every channel it touched.
        self._failing: dict[str, datetime] = {}
        self._outage_since: datetime | None = None
        self._outage_told = False
        self._outage_channels: set[str] = set()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="notifier")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.deliver_once()
            except Exception as exc:  # the database misbehaved: log, keep the loop alive
                if self.outbox.closed:  # closed for good, not misbehaving: retrying would only log forever
                    log.warning("the store's database is closed: notification delivery stops")
                    return
                log.exception("notification delivery failed")
                self.last_error = str(exc)
                busy = 0
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval_s):  # not wait_for: see engine/copy.py run()
                    await self._wake.wait()

    @property
    def failing_since(self) -> datetime | None:
        """When the current run of failed sends began (None while delivery works)."""
        return self._outage_since

    # -- one pass ----------------------------------------------------------------------------

    async def deliver_once(self) -> int:
        """Claim one batch and deliver it; the number of messages sent or held back on purpose."""
        claimed = await self.outbox.claim_batch(self.batch, now=self.clock.now())
        done = 0
        blocked: set[str] = set()  # channels whose head failed in this pass: the rest of them wait
        waiting: list[int] = []
        for group in self._group(claimed):
            channel = group[0].channel
            if channel in blocked:
                waiting += [m.id for m in group]
                continue
            try:
                await self._deliver_group(group)
            except DirectMessageRefused as exc:
                await self._refused(group, exc)
            except Exception as exc:
                await self._back_off(group, exc)
                blocked.add(channel)
                continue
            done += len(group)
            await self._delivered(channel)
        if waiting:
            await self.outbox.release(waiting)
        self._tell_if_long()
        return done

    def _group(self, claimed: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
        """One group per message, except repeated alerts of one key in this batch: one group each."""
        out: list[list[OutboxMessage]] = []
        by_key: dict[str, list[OutboxMessage]] = defaultdict(list)
        for m in claimed:
            key = coalesce_key(m)
            if key is None:
                out.append([m])
            else:
                if key not in by_key:
                    out.append(by_key[key])
                by_key[key].append(m)
        return out

    async def _deliver_group(self, group: list[OutboxMessage]) -> None:
        first, last = group[0], group[-1]
        for m in group:  # the owners' copies first: a crash after the post must not lose them
            if channels := self.route.destinations(m):
                await self.outbox.fan_out(m, channels)
        key = coalesce_key(first)
        now = self.clock.now()
        window = timedelta(seconds=self.settings.coalesce_window_s)
        if key is not None and window:
            posted = self._last_posted.get(key)
            if posted is not None and now < posted + window:
                # Hold the repeats until the window ends, then post them as one.
                await self.outbox.hold([m.id for m in group], posted + window)
                return
        card = notification_card(first.kind, first.payload, count=len(group), span=last.created_at - first.created_at)
        await self.sink.deliver(first.channel, card, nonce=f"outbox-{first.id}")
        # The message whose id is the nonce is marked last: after a crash part-way it is claimed again
        # and a re-send carries the same nonce, which Discord drops.
        for m in [*group[1:], group[0]]:
            await self.outbox.mark_sent(m.id, now)
        if self.metrics is not None:
            # On the clock the engine wrote created_at with (live: the wall clock); a message held back
            # for coalescing counts its wait, as the trader sees it.
            for m in group:
                waited = int((now - m.created_at).total_seconds() * 1e9)
                self.metrics.record(_POSTED, "python", max(0, waited))
        if key is not None:
            self._last_posted[key] = now
        self.sent += 1

    async def _back_off(self, failed: list[OutboxMessage], exc: Exception) -> None:
        """Retry the group later (never give up); the rest of its channel waits behind it."""
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        attempts = max(m.attempts for m in failed) + 1
        now = self.clock.now()
        delay = retry_after_of(exc) or backoff_s(self.settings, attempts)
        retry_at = now + timedelta(seconds=delay)
        log.warning("notification %s not delivered (%s); retry %d in %.1f s", failed[0].id, exc, attempts, delay)
        for m in failed:
            await self.outbox.mark_retry(m.id, attempts, self.last_error, retry_at)
        channel = failed[0].channel
        self._failing.setdefault(channel, now)
        self._outage_channels.add(channel)
        if self._outage_since is None:
            self._outage_since = now

    async def _refused(self, group: list[OutboxMessage], exc: DirectMessageRefused) -> None:
        """A direct message Discord will never take: not retried; the alerts channel hears of it once a day."""
        now = self.clock.now()
        for m in group:
            await self.outbox.mark_refused(m.id, str(exc), now)
        log.warning("direct message %s to %s refused: %s", group[0].id, exc.user_id, exc)
        text = (
            f"Discord refused a direct message to owner {exc.user_id} ({exc}): their direct messages are closed "
            "to this bot, or the id in discord.owners is not a user who shares a server with it. Risk alerts "
            "still reach this channel; to get them by direct message too, the owner allows direct messages "
            "from this server's members (or the id is corrected)."
        )
        note = notifications.alert("Owner not reachable by direct message", text, coalesce=f"dm-refused-{exc.user_id}")
        day = to_ny(now).date().isoformat()
        await self.outbox.enqueue(NotificationKind.ALERT, dict(note), f"dm-refused-{exc.user_id}-{day}")
        self.wake()

    # -- an outage: told once while it lasts, reported when it ends --------------------------------

    def _tell_if_long(self) -> None:
        since = self._outage_since
        if since is None or self._outage_told or not self._failing:
            return
        down = self.clock.now() - since
        if down < timedelta(seconds=self.settings.alert_after_s):
            return
        self._outage_told = True
        line = (
            f"Notifications are not reaching Discord ({', '.join(sorted(self._failing))}) for {for_humans(down)}: "
            f"{self.last_error}. They are kept and retried until delivered; trading goes on."
        )
        log.error(line)
        self.console(line)

    async def _delivered(self, channel: str) -> None:
        """A send went through: the channel's outage (and, with the last one, the outage) is over."""
        if self._failing.pop(channel, None) is None or self._failing:
            return
        since, told, channels = self._outage_since, self._outage_told, sorted(self._outage_channels)
        self._outage_since, self._outage_told, self._outage_channels = None, False, set()
        if since is None or not told:
            return  # a blip, shorter than `alert_after_s`: nobody needs to hear of it
        down = self.clock.now() - since
        held = await self.outbox.pending_count(channels) + 1  # + the one that just went through
        text = (
            f"Discord delivery was down for {for_humans(down)}; {held} messages were held and are "
            "delivered now, in order."
        )
        log.warning(text)
        payload = dict(notifications.alert("Notifications were delayed", text))
        await self.outbox.enqueue(NotificationKind.ALERT, payload, f"outbox-recovered-{since.isoformat()}")
        self.wake()


def summarize(messages: Sequence[OutboxMessage]) -> Mapping[str, Any]:
    """Counts by status, for /stats notifications."""
    counts: dict[str, int] = defaultdict(int)
    for m in messages:
        counts[m.status] += 1
    return dict(counts)
