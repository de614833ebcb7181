"""Delivers the notification outbox to Discord channels (or the console).

- A message is claimed from Postgres (oldest first, under a lease), rendered by kind, sent to the
  channel of its kind (`[discord.channels]`, unset kinds to `alerts`, else the console), then marked
  sent. Each send carries the nonce `outbox-<id>` with `enforce_nonce`, so Discord itself drops a
  re-send after a lost answer: nothing is posted twice.
- A failed send (Discord down, 5xx, rate limit beyond discord.py's own wait) is retried with
  exponential backoff (`retry_after` when Discord gives one). Messages claimed after the failed one
  wait with it, so the backlog goes out in order once Discord is back. After `max_attempts` the
  message is marked failed (kept, with its error) and the next ones flow.
- Alerts repeating within `coalesce_window_s` are held until the window ends and posted once as
  "feed stale ×12 in 10 min".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import discord

from bot.render import Card, notification_card
from trading.clock import Clock, LiveClock
from trading.config import DiscordChannels, NotificationSettings
from trading.domain import NotificationKind
from trading.store.outbox import OutboxMessage

log = logging.getLogger(__name__)

COALESCED_KINDS = frozenset({NotificationKind.ALERT})
MAX_BACKOFF_S = 300.0


class Outbox(Protocol):
    async def claim_batch(self, limit: int = 50, *, now: datetime | None = None) -> list[OutboxMessage]: ...
    async def mark_sent(self, message_id: int, at: datetime | None = None) -> None: ...
    async def mark_retry(self, message_id: int, attempts: int, error: str, retry_at: datetime) -> None: ...
    async def mark_failed(self, message_id: int, attempts: int, error: str) -> None: ...


class Sink(Protocol):
    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        """Post `card` to the channel named by its `[discord.channels]` key, or raise."""
        ...


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

    def channel_id(self, key: str) -> int | None:
        cid: int | None = getattr(self._channels, key, None)
        return cid if cid is not None else self._channels.alerts

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        cid = self.channel_id(channel)
        if cid is None:
            await self._console.deliver(channel, card, nonce)
            return
        target = self._client.get_partial_messageable(cid)
        await target.send(embed=card.embed(), files=card.files(), nonce=nonce)


class EchoSink:
    """Deliver to `primary`, then echo to the console (`[notifications] console = true`)."""

    def __init__(self, primary: Sink, echo: Sink) -> None:
        self.primary = primary
        self.echo = echo

    async def deliver(self, channel: str, card: Card, nonce: str) -> None:
        await self.primary.deliver(channel, card, nonce)
        await self.echo.deliver(channel, card, nonce)


def retry_after_of(exc: BaseException) -> float | None:
    if isinstance(exc, discord.RateLimited):
        return float(exc.retry_after)
    return None


def coalesce_key(message: OutboxMessage) -> str | None:
    if message.kind not in COALESCED_KINDS:
        return None
    p = message.payload
    return str(p.get("coalesce") or p.get("key") or p.get("title") or p.get("text") or "")


class Notifier:
    def __init__(
        self,
        outbox: Outbox,
        sink: Sink,
        settings: NotificationSettings,
        clock: Clock | None = None,
        *,
        batch: int = 50,
    ) -> None:
        self.outbox = outbox
        self.sink = sink
        self.settings = settings
        self.clock = clock or LiveClock()
        self.batch = batch
        self._last_posted: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failures = 0
        self.last_error = ""

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
            except Exception as exc:  # the database or the sink misbehaved: log, keep the loop alive
                log.exception("notification delivery failed")
                self.last_error = str(exc)
                busy = 0
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)

    # -- one pass ----------------------------------------------------------------------------

    async def deliver_once(self) -> int:
        """Claim one batch and deliver it; the number of messages sent or held back."""
        claimed = await self.outbox.claim_batch(self.batch, now=self.clock.now())
        if not claimed:
            return 0
        groups = self._group(claimed)
        for i, group in enumerate(groups):
            try:
                await self._deliver_group(group)
            except Exception as exc:
                await self._back_off(group, groups[i + 1 :], exc)
                return 0  # stop here: the rest wait their turn, in order
        return len(claimed)

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
        key = coalesce_key(first)
        now = self.clock.now()
        window = timedelta(seconds=self.settings.coalesce_window_s)
        if key is not None and window:
            posted = self._last_posted.get(key)
            if posted is not None and now < posted + window:
                # Hold the repeats until the window ends, then post them as one.
                for m in group:
                    await self.outbox.mark_retry(m.id, m.attempts, "held to coalesce", posted + window)
                return
        card = notification_card(first.kind, first.payload, count=len(group), span=last.created_at - first.created_at)
        await self.sink.deliver(first.channel, card, nonce=f"outbox-{first.id}")
        # The message whose id is the nonce is marked last: after a crash part-way it is claimed again
        # and a re-send carries the same nonce, which Discord drops.
        for m in [*group[1:], group[0]]:
            await self.outbox.mark_sent(m.id, now)
        if key is not None:
            self._last_posted[key] = now
        self.sent += 1

    async def _back_off(self, failed: list[OutboxMessage], rest: Sequence[list[OutboxMessage]], exc: Exception) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        attempts = max(m.attempts for m in failed) + 1
        now = self.clock.now()
        if attempts >= self.settings.max_attempts:
            log.error("giving up on notification %s after %d attempts: %s", [m.id for m in failed], attempts, exc)
            for m in failed:
                await self.outbox.mark_failed(m.id, attempts, self.last_error)
            retry_at = now  # the next ones go on at once
        else:
            delay = retry_after_of(exc) or min(self.settings.retry_base_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
            retry_at = now + timedelta(seconds=delay)
            log.warning("notification %s not delivered (%s); retry in %.1f s", failed[0].id, exc, delay)
            for m in failed:
                await self.outbox.mark_retry(m.id, attempts, self.last_error, retry_at)
        for group in rest:
            for m in group:
                await self.outbox.mark_retry(m.id, m.attempts, m.last_error or "", retry_at)


def summarize(messages: Sequence[OutboxMessage]) -> Mapping[str, Any]:
    """Counts by status, for /stats notifications."""
    counts: dict[str, int] = defaultdict(int)
    for m in messages:
        counts[m.status] += 1
    return dict(counts)
